package carrier

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

func TestRepositoryCarriersFileIsValid(t *testing.T) {
	t.Parallel()
	c, err := Load("../../config/carriers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Carriers) == 0 || c.Carriers[0].SMPP.Window != 64 {
		t.Fatalf("carriers %+v", c.Carriers)
	}
}

func TestParseReportsEveryFieldPath(t *testing.T) {
	t.Parallel()
	raw := `
carriers:
  - name: a
    priority: 0
    smpp: {address: nowhere, system_id: "", password: "toolongpassword", bind: both, binds: 99, window: 0, throughput: -1, enquire_link: "1ms", receipt_timeout: "200h"}
    routes: ["+44x"]
  - name: a
    priority: 1
    smpp: {address: "127.0.0.1:2775", system_id: catalyst}
    routes: []
`
	_, err := Parse([]byte(raw))
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse: %v", err)
	}
	got := map[string]bool{}
	for _, f := range e.Fields {
		got[f.Field] = true
	}
	for _, want := range []string{"carriers[0].priority", "carriers[0].smpp.address", "carriers[0].smpp.system_id", "carriers[0].smpp.password",
		"carriers[0].smpp.bind", "carriers[0].smpp.binds", "carriers[0].smpp.throughput", "carriers[0].smpp.enquire_link", "carriers[0].smpp.receipt_timeout",
		"carriers[0].routes[0]", "carriers[1].name", "carriers[1].routes"} {
		if !got[want] {
			t.Errorf("no error at %s (got %v)", want, got)
		}
	}
	if got["carriers[0].smpp.window"] {
		t.Error("window 0 means the default, not an error")
	}
	if _, err := Parse([]byte("carriers:\n  - name: x\n    prioity: 1\n")); err == nil || !strings.Contains(err.Error(), "prioity") {
		t.Errorf("a misspelt field is not reported: %v", err)
	}
}

func TestPlanRoutesByPrefixPriorityAndSharesLoad(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(`
carriers:
  - {name: uk-a, priority: 1, smpp: {address: "a:1", system_id: a}, routes: ["44"]}
  - {name: uk-b, priority: 1, smpp: {address: "b:1", system_id: b}, routes: ["+44"]}
  - {name: fallback, priority: 2, smpp: {address: "c:1", system_id: c}, routes: ["*"]}
  - {name: us, priority: 1, smpp: {address: "d:1", system_id: d}, routes: ["1"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	names := func(cs []Carrier) string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return strings.Join(out, ",")
	}
	first := map[string]int{}
	for range 10 {
		plan := c.Plan("+447911123456")
		if len(plan) != 3 || plan[2].Name != "fallback" {
			t.Fatalf("plan %s: want the two UK carriers then the fallback", names(plan))
		}
		first[plan[0].Name]++
	}
	if first["uk-a"] != 5 || first["uk-b"] != 5 {
		t.Errorf("equal priorities did not share the load: %v", first)
	}
	if got := names(c.Plan("+14155550123")); got != "us,fallback" {
		t.Errorf("US plan %s", got)
	}
	if got := names(c.Plan("+33612345678")); got != "fallback" {
		t.Errorf("FR plan %s", got)
	}
}

func TestKeepAlive(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte("carriers:\n  - {name: x, priority: 1, smpp: {address: \"h:1\", system_id: x, enquire_link: 45s}, routes: [\"*\"]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Carriers[0].KeepAlive().Seconds() != 45 {
		t.Fatalf("keepalive %v", c.Carriers[0].KeepAlive())
	}
}

func TestReceiptTimeout(t *testing.T) {
	t.Parallel()
	one := func(rt string) string {
		smpp := `{address: "h:1", system_id: x}`
		if rt != "" {
			smpp = `{address: "h:1", system_id: x, receipt_timeout: ` + rt + `}`
		}
		return "carriers:\n  - {name: x, priority: 1, smpp: " + smpp + ", routes: [\"*\"]}\n"
	}
	c, err := Parse([]byte(one("")))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Carriers[0].ReceiptTimeout(); got != 48*time.Hour {
		t.Fatalf("default receipt timeout %v, want 48h", got)
	}
	c, err = Parse([]byte(one("90m")))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Carriers[0].ReceiptTimeout(); got != 90*time.Minute {
		t.Fatalf("receipt timeout %v, want 90m", got)
	}
	for _, bad := range []string{"500ms", "169h", "0s", "-1h", "soon"} {
		_, err := Parse([]byte(one(bad)))
		var e *errs.Error
		if !errors.As(err, &e) {
			t.Fatalf("receipt_timeout %s: %v", bad, err)
		}
		found := false
		for _, f := range e.Fields {
			found = found || f.Field == "carriers[0].smpp.receipt_timeout"
		}
		if !found {
			t.Errorf("receipt_timeout %s: no error at carriers[0].smpp.receipt_timeout (%v)", bad, e.Fields)
		}
	}
	for _, ok := range []string{"1s", "168h"} {
		if _, err := Parse([]byte(one(ok))); err != nil {
			t.Errorf("receipt_timeout %s rejected: %v", ok, err)
		}
	}
	// A Carrier built without Parse gets the default.
	if got := (Carrier{}).ReceiptTimeout(); got != DefaultReceiptTimeout {
		t.Errorf("zero Carrier receipt timeout %v", got)
	}
}
