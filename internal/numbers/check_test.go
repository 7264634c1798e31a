package numbers

import (
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		n      Number
		fields []string
	}{
		{"complete", Number{Channel: "sms", Number: "+447700900123", TenantID: "t1"}, nil},
		{"no channel", Number{Number: "+447700900123", TenantID: "t1"}, []string{"channel"}},
		{"no number", Number{Channel: "sms", TenantID: "t1"}, []string{"number"}},
		{"no tenant", Number{Channel: "sms", Number: "12345"}, []string{"tenant_id"}},
		{"nothing", Number{}, []string{"channel", "number", "tenant_id"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			wantFields(t, Check(c.n), c.fields)
		})
	}
}

func TestCheckArguments(t *testing.T) {
	t.Parallel()
	wantFields(t, CheckAddress("sms", "12345"), nil)
	wantFields(t, CheckAddress("", ""), []string{"channel", "number"})
	wantFields(t, CheckRelease("t1", "sms", "12345"), nil)
	wantFields(t, CheckRelease("", "sms", ""), []string{"tenant_id", "number"})
	wantFields(t, CheckTenant("t1"), nil)
	wantFields(t, CheckTenant(""), []string{"tenant_id"})
}

// wantFields fails unless err is nil for no fields, or Invalid naming exactly fields.
func wantFields(t *testing.T, err error, fields []string) {
	t.Helper()
	if len(fields) == 0 {
		if err != nil {
			t.Fatalf("error = %v, want nil", err)
		}
		return
	}
	if errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("error = %v, want Invalid", err)
	}
	e := err.(*errs.Error)
	if len(e.Fields) != len(fields) {
		t.Fatalf("fields = %v, want %v", e.Fields, fields)
	}
	for i, f := range fields {
		if e.Fields[i].Field != f {
			t.Fatalf("fields = %v, want %v", e.Fields, fields)
		}
	}
}
