package catalog

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// newExample builds the example event of typ with New.
func newExample(t *testing.T, typ string) event.Event {
	t.Helper()
	ex, ok := examples()[typ]
	if !ok {
		t.Fatalf("no example of %s", typ)
	}
	e, err := New(typ, exSource, ex.data, ex.ext)
	if err != nil {
		t.Fatalf("New(%s): %v", typ, err)
	}
	return e
}

// editData decodes e's data, lets edit change it and encodes it back.
func editData(t *testing.T, e *event.Event, edit func(map[string]any)) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Data(), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	e.DataEncoded = raw
}

// fields returns the violated fields of a Validate error, failing unless it is an
// *errs.Error with code Invalid.
func fields(t *testing.T, err error) []string {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid {
		t.Fatalf("error %v (%T), want an *errs.Error with code invalid", err, err)
	}
	var out []string
	for _, f := range e.Fields {
		if !strings.Contains(e.Error(), f.Field+": "+f.Reason) {
			t.Errorf("message %q does not name %s", e.Error(), f.Field)
		}
		out = append(out, f.Field)
	}
	return out
}

func TestValidateExamples(t *testing.T) {
	t.Parallel()
	for _, entry := range Entries() {
		t.Run(entry.Type, func(t *testing.T) {
			t.Parallel()
			e := newExample(t, entry.Type)
			if err := Validate(e); err != nil {
				t.Fatal(err)
			}
			// The event survives the wire: structured JSON and back.
			raw, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			var back event.Event
			if err := json.Unmarshal(raw, &back); err != nil {
				t.Fatal(err)
			}
			if err := Validate(back); err != nil {
				t.Fatalf("after a JSON round trip: %v", err)
			}
		})
	}
}

func TestValidateFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		typ    string
		edit   func(t *testing.T, e *event.Event)
		want   []string // the violated fields, in order
		reason string   // a part of the first violation's reason
	}{
		{"unknown type", MessageSentType, func(_ *testing.T, e *event.Event) { e.SetType("io.catalyst.message.teleported") },
			[]string{"type"}, "not in the catalogue"},
		{"missing tenantid", MessageSentType, func(_ *testing.T, e *event.Event) { e.SetExtension(ExtTenantID, nil) },
			[]string{"tenantid"}, "missing"},
		{"empty tenantid", BalanceLowType, func(_ *testing.T, e *event.Event) { e.SetExtension(ExtTenantID, "") },
			[]string{"tenantid"}, "missing"},
		{"missing channel", BillingAuthorizedType, func(_ *testing.T, e *event.Event) { e.SetExtension(ExtChannel, nil) },
			[]string{"channel"}, "missing"},
		{"unknown channel", MessageSentType, func(_ *testing.T, e *event.Event) { e.SetExtension(ExtChannel, "pigeon") },
			[]string{"channel", "data/channel"}, "unknown channel"},
		{"wrong dataschema", MessageSentType, func(_ *testing.T, e *event.Event) { e.SetDataSchema("https://example.com/sent.json") },
			[]string{"dataschema"}, "want"},
		{"no dataschema", DiagnosticsPingType, func(_ *testing.T, e *event.Event) { e.SetDataSchema("") },
			[]string{"dataschema"}, `got ""`},
		{"messageid is not partitionkey", MessageDeliveredType, func(_ *testing.T, e *event.Event) { e.SetExtension(ExtPartitionKey, "acme") },
			[]string{"partitionkey"}, "must equal the messageid"},
		{"tenant partitionkey is not tenantid", TenantSuspendedType, func(_ *testing.T, e *event.Event) { e.SetExtension(ExtPartitionKey, exMessage) },
			[]string{"partitionkey"}, "must equal the tenantid"},
		{"datacontenttype", MessageSentType, func(_ *testing.T, e *event.Event) { e.SetDataContentType("text/plain") },
			[]string{"datacontenttype"}, "want application/json"},
		{"CloudEvents rule", MessageSentType, func(_ *testing.T, e *event.Event) { e.SetID("") },
			[]string{"id"}, ""},
		{"no data", MessageReadType, func(_ *testing.T, e *event.Event) { e.DataEncoded = nil },
			[]string{"data"}, "missing"},
		{"data not JSON", MessageReadType, func(_ *testing.T, e *event.Event) { e.DataEncoded = []byte("{") },
			[]string{"data"}, "not JSON"},
		{"missing required data field", BillingAuthorizedType, func(t *testing.T, e *event.Event) {
			editData(t, e, func(m map[string]any) { delete(m, "amount") })
		}, []string{"data/amount"}, "missing"},
		{"wrong enum", MessageScreenedType, func(t *testing.T, e *event.Event) {
			editData(t, e, func(m map[string]any) { m["decision"] = "maybe" })
		}, []string{"data/decision"}, "pass"},
		{"money as a JSON number", BillingAuthorizedType, func(t *testing.T, e *event.Event) {
			editData(t, e, func(m map[string]any) { m["amount"] = 0.0425 })
		}, []string{"data/amount"}, "want string"},
		{"money with 19 decimals", BalanceLowType, func(t *testing.T, e *event.Event) {
			editData(t, e, func(m map[string]any) { m["balance"] = "0.1234567890123456789" })
		}, []string{"data/balance"}, "match"},
		{"extra data field", MessageSentType, func(t *testing.T, e *event.Event) {
			editData(t, e, func(m map[string]any) { m["colour"] = "blue" })
		}, []string{"data/colour"}, "not allowed"},
		{"extra nested data field", MessageInboundType, func(t *testing.T, e *event.Event) {
			editData(t, e, func(m map[string]any) { m["content"].(map[string]any)["colour"] = "blue" })
		}, []string{"data/content/colour"}, "not allowed"},
		{"bad uuid", BillingCommittedType, func(t *testing.T, e *event.Event) {
			editData(t, e, func(m map[string]any) { m["reservation_id"] = "r-1" })
		}, []string{"data/reservation_id"}, "uuid"},
		{"bad date-time", BillingAuthorizedType, func(t *testing.T, e *event.Event) {
			editData(t, e, func(m map[string]any) { m["expires_at"] = "tomorrow" })
		}, []string{"data/expires_at"}, "date-time"},
		{"data message_id differs from messageid", MessageFailedType, func(t *testing.T, e *event.Event) {
			editData(t, e, func(m map[string]any) { m["message_id"] = uuid.NewString() })
		}, []string{"data/message_id"}, "must equal the messageid"},
		{"data tenant_id differs from tenantid", BalanceLowType, func(t *testing.T, e *event.Event) {
			editData(t, e, func(m map[string]any) { m["tenant_id"] = "globex" })
		}, []string{"data/tenant_id"}, "must equal the tenantid"},
		{"every problem reported", MessageSentType, func(t *testing.T, e *event.Event) {
			e.SetExtension(ExtTenantID, nil)
			e.SetDataSchema("")
			editData(t, e, func(m map[string]any) { delete(m, "parts"); m["x"] = 1 })
		}, []string{"dataschema", "tenantid", "data/parts", "data/x"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newExample(t, tc.typ)
			tc.edit(t, &e)
			err := Validate(e)
			if err == nil {
				t.Fatal("Validate passed")
			}
			got := fields(t, err)
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Fatalf("violations %v, want %v (error: %v)", got, want, err)
			}
			var ee *errs.Error
			errors.As(err, &ee)
			if first := ee.Fields[0]; !strings.Contains(first.Reason, tc.reason) {
				t.Errorf("reason %q, want it to contain %q", first.Reason, tc.reason)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	before := time.Now().UTC()
	e := newExample(t, MessageSentType)
	if _, err := uuid.Parse(e.ID()); err != nil {
		t.Errorf("id %q: %v", e.ID(), err)
	}
	if e.Time().Location() != time.UTC || e.Time().Before(before.Add(-time.Second)) {
		t.Errorf("time %v, want now in UTC", e.Time())
	}
	if e.Source() != exSource || e.DataSchema() != DataSchemaURI(MessageSentType) || e.DataContentType() != "application/json" {
		t.Errorf("source %q, dataschema %q, datacontenttype %q", e.Source(), e.DataSchema(), e.DataContentType())
	}
	if e.DataBase64 {
		t.Error("data is base64: it would travel as data_base64, not JSON")
	}
	if again := newExample(t, MessageSentType); again.ID() == e.ID() {
		t.Error("two events with one id")
	}
}

// New derives partitionkey from the extension the type ties it to.
func TestNewDerivesPartitionKey(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]string{MessageDeliveredType: exMessage, BalanceLowType: exTenant} {
		ex := examples()[typ]
		delete(ex.ext, ExtPartitionKey)
		e, err := New(typ, exSource, ex.data, ex.ext)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if got := e.Extensions()[ExtPartitionKey]; got != want {
			t.Errorf("%s: partitionkey %v, want %s", typ, got, want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	ok := examples()[MessageSentType]
	tests := []struct {
		name string
		typ  string
		data any
		ext  map[string]string
		want string
	}{
		{"unknown type", "io.catalyst.nope.nope", ok.data, ok.ext, "type"},
		{"invalid data", MessageSentType, MessageSent{MessageRef: MessageRef{MessageID: exMessage, TenantID: exTenant, Channel: "sms"}}, ok.ext, "data/provider"},
		{"nil data", MessageSentType, nil, ok.ext, "data"},
		{"unencodable data", MessageSentType, func() {}, ok.ext, ""},
		{"missing extension", MessageSentType, ok.data, map[string]string{ExtTenantID: exTenant}, "channel"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := New(tc.typ, exSource, tc.data, tc.ext)
			if err == nil {
				t.Fatalf("New passed: %v", e)
			}
			if errs.CodeOf(err) != errs.Invalid {
				t.Errorf("code %s, want invalid: %v", errs.CodeOf(err), err)
			}
			var ee *errs.Error
			if tc.want != "" && (!errors.As(err, &ee) || !hasField(ee.Fields, tc.want)) {
				t.Errorf("error %v, want a violation on %s", err, tc.want)
			}
			if e.Context != nil {
				t.Error("New returned an event with its error")
			}
		})
	}
}

func hasField(fields []errs.FieldViolation, name string) bool {
	for _, f := range fields {
		if f.Field == name {
			return true
		}
	}
	return false
}
