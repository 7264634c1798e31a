package eventfilter

import (
	"context"
	"errors"
	"fmt"
	"testing"

	cesql "github.com/cloudevents/sdk-go/sql/v2"
	sqlerrors "github.com/cloudevents/sdk-go/sql/v2/errors"
	"github.com/cloudevents/sdk-go/v2/event"
)

func TestCESQL(t *testing.T) {
	t.Parallel()
	full, bare := fullEvent(t), bareEvent(t)
	wireTyped := bareEvent(t, withExt("priority", "7")) // extensions arrive over HTTP as strings
	one := func(expr string) []spec { return []spec{sql(expr)} }
	runMatchCases(t, []matchCase{
		{name: "literal true", filters: one("TRUE"), event: bare, want: true},
		{name: "literal false", filters: one("FALSE"), event: bare},
		{name: "equality", filters: one("type = 'com.catalyst.sms.received'"), event: bare, want: true},
		{name: "inequality", filters: one("type != 'com.catalyst.sms.received'"), event: bare},
		{name: "LIKE with wildcards", filters: one("type LIKE 'com.catalyst.%.created'"), event: full, want: true},
		{name: "LIKE mismatch", filters: one("type LIKE 'com.catalyst.%.created'"), event: bare},
		{name: "LIKE single-character wildcard", filters: one("subject LIKE 'orders/4_'"), event: full, want: true},
		{name: "LIKE is anchored", filters: one("type LIKE 'catalyst%'"), event: full},
		{name: "LIKE and AND", filters: one("source LIKE '%/orders' AND tenantid = 'acme'"), event: full, want: true},
		{name: "AND with one side false", filters: one("source LIKE '%/orders' AND tenantid = 'globex'"), event: full},
		{name: "OR", filters: one("tenantid = 'globex' OR channel = 'sms'"), event: full, want: true},
		{name: "NOT", filters: one("NOT (channel = 'sms')"), event: full},
		{name: "keywords are case-insensitive", filters: one("type like 'com.%' and exists subject"), event: full, want: true},
		{name: "EXISTS extension", filters: one("EXISTS tenantid"), event: full, want: true},
		{name: "EXISTS absent extension", filters: one("EXISTS tenantid"), event: bare},
		{name: "EXISTS absent subject", filters: one("EXISTS subject"), event: bare},
		{name: "EXISTS absent time", filters: one("EXISTS time"), event: bare},
		{name: "EXISTS required attribute", filters: one("EXISTS id AND EXISTS specversion"), event: bare, want: true},
		{name: "guarded missing attribute", filters: one("NOT EXISTS channel OR channel = 'sms'"), event: bare, want: true},
		{name: "guarded present attribute", filters: one("NOT EXISTS channel OR channel = 'email'"), event: full},
		{name: "missing attribute is an error, not a match", filters: one("tenantid = 'acme'"), event: bare},
		{name: "negated missing attribute is still an error", filters: one("NOT (tenantid = 'acme')"), event: bare},
		{name: "missing attribute short-circuited by AND", filters: one("FALSE AND tenantid = 'acme'"), event: bare},
		{name: "IN", filters: one("channel IN ('sms', 'whatsapp')"), event: full, want: true},
		{name: "NOT IN", filters: one("channel NOT IN ('sms', 'whatsapp')"), event: full},
		{name: "integer extension comparison", filters: one("priority > 3"), event: full, want: true},
		{name: "string extension cast to integer", filters: one("priority > 3"), event: wireTyped, want: true},
		{name: "boolean extension", filters: one("urgent"), event: full, want: true},
		{name: "time in event's own offset", filters: one("time = '2024-03-01T12:30:00+02:00'"), event: full, want: true},
		{name: "function", filters: one("LOWER(tenantid) = 'acme' AND LENGTH(subject) = 9"), event: full, want: true},
		{name: "unknown function", filters: one("NOSUCHFN(tenantid) = 'acme'"), event: full},
		{name: "division by zero", filters: one("priority / 0 = 0"), event: full},
		{name: "string result does not match", filters: one("'true'"), event: bare},
		{name: "integer result does not match", filters: one("1"), event: bare},
		{name: "attribute value result does not match", filters: one("tenantid"), event: full},
		{name: "evaluator panic is a non-match", filters: one("SUBSTRING(subject, 2, -1) = 'x'"), event: full},
		{name: "not of evaluator panic", filters: []spec{not(sql("SUBSTRING(subject, 2, -1) = 'x'"))}, event: full, want: true},
		{name: "combined with other dialects", filters: []spec{exact("tenantid", "acme"), sql("channel = 'sms'")}, event: full, want: true},
	})
}

func TestCESQLCompileError(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"type LIKE", "type = ", "(", "EXISTS", "type = 'unterminated", "tenantid = 'a' garbage"} {
		t.Run(expr, func(t *testing.T) {
			t.Parallel()
			_, err := ForTrigger(nil, []spec{exact("type", "x"), sql(expr)})
			if err == nil {
				t.Fatalf("ForTrigger(%q) succeeded, want a parse error", expr)
			}
			if !isCESQLParseError(err) {
				t.Errorf("error %v does not wrap a CESQL parse error", err)
			}
		})
	}
}

func TestCESQLEmptyExpression(t *testing.T) {
	t.Parallel()
	if f, err := CESQL(""); err == nil {
		t.Fatalf("CESQL(\"\") = %T, want error", f)
	}
}

// isCESQLParseError unwraps by hand: the sdk's IsParseError matches only its own
// unwrapped error value.
func isCESQLParseError(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if sqlerrors.IsParseError(err) {
			return true
		}
	}
	return false
}

// FuzzCESQL compiles arbitrary expressions and evaluates them against events
// with and without optional attributes. Besides not panicking, a compiled filter
// must agree with the sdk's raw evaluation (match iff no error and result true),
// its negation must be its complement, and ForTrigger must compile exactly what
// CESQL compiles.
func FuzzCESQL(f *testing.F) {
	for _, seed := range []string{
		"TRUE",
		"type LIKE 'com.catalyst.%' AND EXISTS tenantid",
		"NOT EXISTS channel OR channel = 'sms'",
		"priority / 0 = 0",
		"priority + 2147483647 > 0",
		"-2147483648 / -1 = 1",
		"channel IN ('sms', 'email', tenantid)",
		"SUBSTRING(subject, -100, 100) = 'x'",
		"SUBSTRING(subject, 2, -1) = 'x'",
		"CONCAT_WS(',', tenantid, channel) LIKE '%\\%%'",
		"INT('9999999999999') = 1",
		"ABS(-2147483648) > 0",
		"time < '2025-01-01T00:00:00Z' XOR urgent",
		"'a' LIKE '\\'",
		"type = 'unterminated",
		")",
		"",
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	events := []event.Event{fullEvent(f), bareEvent(f), fullEvent(f, withExt("priority", "2147483647"))}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := CESQL(expr)
		trig, trigErr := ForTrigger(nil, []spec{sql(expr)})
		if expr != "" && (err == nil) != (trigErr == nil) {
			t.Fatalf("CESQL err = %v but ForTrigger err = %v", err, trigErr)
		}
		if err != nil {
			return
		}
		parsed := flt.(*cesqlFilter).parsed
		negated := Not(flt)
		for i, e := range events {
			res, evalErr := evaluate(parsed, e)
			want := evalErr == nil && res == true
			got := flt.Match(ctx, e)
			if got != want {
				t.Errorf("event %d: Match = %v, want %v (Evaluate = %#v, %v)", i, got, want, res, evalErr)
			}
			if trig.Match(ctx, e) != got {
				t.Errorf("event %d: ForTrigger filter disagrees with CESQL filter", i)
			}
			if negated.Match(ctx, e) == got {
				t.Errorf("event %d: Not(filter) = filter = %v", i, got)
			}
		}
	})
}

// evaluate runs the sdk directly, turning its panics into errors, as the oracle
// for FuzzCESQL.
func evaluate(expr cesql.Expression, e event.Event) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	return expr.Evaluate(e)
}
