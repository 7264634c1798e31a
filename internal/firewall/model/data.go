package model

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Example is one labelled message.
type Example struct {
	Spam bool
	Text string
}

const tsvHeader = "label\ttext"

// maxLine bounds one TSV line; an SMS is at most a few kilobytes even concatenated.
const maxLine = 1 << 20

// ReadTSV reads labelled messages: a header line "label<TAB>text", then one
// "ham|spam<TAB>text" per line. Blank lines are skipped; anything else that is not
// a labelled message is an Invalid error naming its line.
func ReadTSV(r io.Reader) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	var out []Example
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			if strings.TrimPrefix(text, "\ufeff") != tsvHeader {
				return nil, errs.E(errs.Invalid, "line 1: want the header %q, got %q", tsvHeader, clip(text))
			}
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		label, msg, ok := strings.Cut(text, "\t")
		if !ok {
			return nil, errs.E(errs.Invalid, "line %d: no tab between label and text: %q", line, clip(text))
		}
		var spam bool
		switch label {
		case "spam":
			spam = true
		case "ham":
		default:
			return nil, errs.E(errs.Invalid, "line %d: label %q is neither ham nor spam", line, clip(label))
		}
		out = append(out, Example{Spam: spam, Text: msg})
	}
	if err := sc.Err(); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "line %d: reading TSV", line+1)
	}
	if line == 0 {
		return nil, errs.E(errs.Invalid, "line 1: empty input, want the header %q", tsvHeader)
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// WriteTSV writes ex in the format ReadTSV reads. A text with a newline cannot be
// represented and is an Invalid error (a tab is fine: the label ends at the first).
func WriteTSV(w io.Writer, ex []Example) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(tsvHeader + "\n")
	for i, e := range ex {
		if strings.ContainsAny(e.Text, "\r\n") {
			return errs.E(errs.Invalid, "example %d: text contains a line break", i)
		}
		label := "ham"
		if e.Spam {
			label = "spam"
		}
		bw.WriteString(label)
		bw.WriteByte('\t')
		bw.WriteString(e.Text)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write TSV: %w", err)
	}
	return nil
}

// Split puts round(testFraction × n) of each label's examples into test and the rest
// into train (stratified, so both keep the spam share), chosen by a PCG generator
// seeded with seed: the same input, fraction and seed always give the same split.
// Both halves keep the input order.
func Split(ex []Example, testFraction float64, seed int64) (train, test []Example) {
	if testFraction < 0 {
		testFraction = 0
	}
	if testFraction > 1 {
		testFraction = 1
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed5eed))
	inTest := make([]bool, len(ex))
	for _, spam := range []bool{false, true} {
		var idx []int
		for i, e := range ex {
			if e.Spam == spam {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		n := int(float64(len(idx))*testFraction + 0.5)
		for _, i := range idx[:n] {
			inTest[i] = true
		}
	}
	for i, e := range ex {
		if inTest[i] {
			test = append(test, e)
		} else {
			train = append(train, e)
		}
	}
	return train, test
}

// stratifiedFolds assigns each example to one of k folds, each label spread evenly.
func stratifiedFolds(ex []Example, k int, rng *rand.Rand) []int {
	fold := make([]int, len(ex))
	for _, spam := range []bool{false, true} {
		var idx []int
		for i, e := range ex {
			if e.Spam == spam {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for n, i := range idx {
			fold[i] = n % k
		}
	}
	return fold
}

// sortedDesc returns a sorted copy, largest first.
func sortedDesc(v []float64) []float64 {
	s := append([]float64(nil), v...)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	return s
}
