package postgres

import (
	"strconv"
	"strings"
)

// filter builds the WHERE and LIMIT of a list query with numbered placeholders:
// each condition is written with ? for its values, in order.
type filter struct {
	where []string
	args  []any
}

// add appends a condition, numbering its ? placeholders after the values so far.
func (f *filter) add(cond string, vals ...any) {
	for _, v := range vals {
		f.args = append(f.args, v)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(f.args)), 1)
	}
	f.where = append(f.where, cond)
}

// query completes base (a SELECT … FROM) with the conditions, orderBy and a limit.
func (f *filter) query(base, orderBy string, limit int) string {
	if len(f.where) > 0 {
		base += ` WHERE ` + strings.Join(f.where, " AND ")
	}
	f.args = append(f.args, limit)
	return base + ` ORDER BY ` + orderBy + ` LIMIT $` + strconv.Itoa(len(f.args))
}
