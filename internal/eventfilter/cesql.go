package eventfilter

import (
	"context"
	"errors"
	"fmt"
	"sync"

	cesql "github.com/cloudevents/sdk-go/sql/v2"
	sqlerrors "github.com/cloudevents/sdk-go/sql/v2/errors"
	"github.com/cloudevents/sdk-go/sql/v2/parser"
	"github.com/cloudevents/sdk-go/v2/event"
)

// cesqlFilter holds an expression parsed once; sdk expressions are immutable
// values, so Evaluate is safe to call concurrently.
type cesqlFilter struct {
	expr   string
	parsed cesql.Expression
}

// parseMu serialises parsing: the ANTLR v1 Go runtime behind the parser shares
// DFA caches between parsers without full synchronisation. Parsing happens only
// when a trigger is (re)built, so the lock costs nothing on the delivery path.
var parseMu sync.Mutex

// CESQL compiles a CloudEvents SQL expression. The filter matches only when the
// expression evaluates to boolean true: evaluation errors (a missing attribute, a
// failed cast, division by zero) and non-boolean results do not match, as in
// Knative, which fails the filter on any evaluation error.
func CESQL(expression string) (Filter, error) {
	if expression == "" {
		return nil, errors.New("empty CESQL expression")
	}
	parsed, err := parseCESQL(expression)
	if err != nil {
		return nil, fmt.Errorf("invalid CESQL expression %q: %w", expression, err)
	}
	return &cesqlFilter{expr: expression, parsed: parsed}, nil
}

func parseCESQL(expression string) (parsed cesql.Expression, err error) {
	parseMu.Lock()
	defer parseMu.Unlock()
	// sdk-go/sql v2.16.2 panics on several malformed inputs ("type LIKE",
	// "type = ", "EXISTS": its syntax-error listener dereferences a nil
	// exception). Report those as the parse errors they are.
	defer func() {
		if r := recover(); r != nil {
			parsed = nil
			err = sqlerrors.NewParseError([]error{fmt.Errorf("syntax error (parser panicked: %v)", r)})
		}
	}()
	parsed, err = parser.Parse(expression)
	// The parser can return a partial expression alongside an error; Knative
	// rejects those, and so do we.
	if err != nil {
		return nil, err
	}
	if parsed == nil {
		return nil, errors.New("parser returned no expression")
	}
	return parsed, nil
}

func (f *cesqlFilter) Match(_ context.Context, e event.Event) (matched bool) {
	// The sdk's evaluator can panic too (SUBSTRING with a negative length slices
	// out of range). Knative's HTTP handler survives that per request; one event
	// must not take this whole process down, so a panic is a non-match.
	defer func() {
		if recover() != nil {
			matched = false
		}
	}()
	res, err := f.parsed.Evaluate(e)
	if err != nil {
		return false
	}
	// Knative asserts res.(bool) and panics on e.g. `cesql: "'a'"`; a non-boolean
	// simply does not match here.
	b, ok := res.(bool)
	return ok && b
}

// String returns the source expression, for logs.
func (f *cesqlFilter) String() string { return f.expr }
