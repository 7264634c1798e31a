package channel

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
)

// validTo is an accepted recipient per channel.
var validTo = map[string]string{
	"sms": "+447911123456", "ussd": "+254712345678", "whatsapp": "+447911123456",
	"telegram": "42", "messenger": "1254459154682919", "instagram": "17841400000000000",
	"viber": "01234567890A=", "rcs": "+447911123456", "xmpp": "bob@example.org", "custom": "x",
}

// TestTextLimits sends each channel a text and a caption at its limit and one over.
// Lengths count Unicode code points (so "é" is one), except instagram (UTF-8 bytes, as
// channels.md says) and sms/ussd (GSM-7 septets, or UTF-16 units for UCS-2 text).
func TestTextLimits(t *testing.T) {
	t.Parallel()
	type limitCase struct {
		name     string
		channel  string
		content  catalog.Content
		accepted bool
	}
	var cases []limitCase
	add := func(ch, name string, c catalog.Content, ok bool) {
		cases = append(cases, limitCase{fmt.Sprintf("%s/%s", ch, name), ch, c, ok})
	}
	for _, ch := range Names() {
		s, _ := Lookup(ch)
		switch s.Unit {
		case UnitCodePoints:
			add(ch, "text at limit", text(strings.Repeat("é", s.MaxTextChars)), true)
			add(ch, "text over limit", text(strings.Repeat("é", s.MaxTextChars+1)), false)
		case UnitUTF8Bytes:
			add(ch, "text at limit", text(strings.Repeat("a", s.MaxTextChars)), true)
			add(ch, "text over limit by one byte", text(strings.Repeat("a", s.MaxTextChars-1)+"é"), false)
		}
		if s.MaxCaptionChars > 0 {
			add(ch, "caption at limit", media(jpeg, "image/jpeg", strings.Repeat("é", s.MaxCaptionChars)), true)
			add(ch, "caption over limit", media(jpeg, "image/jpeg", strings.Repeat("é", s.MaxCaptionChars+1)), false)
		}
	}
	add("sms", "1530 GSM-7 septets", text(strings.Repeat("a", 1530)), true)
	add("sms", "1531 GSM-7 septets", text(strings.Repeat("a", 1531)), false)
	// Escapes and surrogate pairs are never split, so a part holds 76 € or 33 emoji.
	add("sms", "760 extension chars = 10 parts", text(strings.Repeat("€", 760)), true)
	add("sms", "761 extension chars = 11 parts", text(strings.Repeat("€", 761)), false)
	add("sms", "670 UCS-2 units", text(strings.Repeat("中", 670)), true)
	add("sms", "671 UCS-2 units", text(strings.Repeat("中", 671)), false)
	add("sms", "330 emoji = 10 parts", text(strings.Repeat("😀", 330)), true)
	add("sms", "331 emoji = 11 parts", text(strings.Repeat("😀", 331)), false)
	add("ussd", "182 septets", text(strings.Repeat("a", 182)), true)
	add("ussd", "183 septets", text(strings.Repeat("a", 183)), false)
	add("ussd", "91 extension chars = 182 septets", text(strings.Repeat("{", 91)), true)
	add("ussd", "92 extension chars", text(strings.Repeat("{", 92)), false)
	add("ussd", "80 UCS-2 units", text(strings.Repeat("中", 80)), true)
	add("ussd", "81 UCS-2 units", text(strings.Repeat("中", 81)), false)
	add("whatsapp", "20 params of 1024", tmpl("t", "en", slices.Repeat([]string{strings.Repeat("é", 1024)}, 20)...), true)

	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Validate(Request{Channel: tt.channel, To: validTo[tt.channel], Content: tt.content})
			switch {
			case tt.accepted && err != nil:
				t.Fatalf("refused: %v", err)
			case !tt.accepted && err == nil:
				t.Fatal("accepted")
			case !tt.accepted:
				if f := fieldsOf(err); len(f) != 1 || f[0].Field != "content.text" {
					t.Fatalf("fields = %+v, want content.text only", f)
				}
			}
		})
	}
}

// TestSpecs keeps the channel list in step with the catalogue's enum and checks that
// every spec is usable.
func TestSpecs(t *testing.T) {
	t.Parallel()
	want := catalog.Channels()
	slices.Sort(want)
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %q, catalog.Channels() = %q", got, want)
	}
	for _, n := range Names() {
		s, ok := Lookup(n)
		if !ok || s.Name != n || len(s.Content) == 0 || s.MaxTextChars <= 0 || s.Source == "" ||
			addressRules[s.AddressKind] == nil || addressRules[s.FromKind] == nil {
			t.Errorf("Lookup(%q) = %+v, %v", n, s, ok)
		}
		if _, ok := validTo[n]; !ok {
			t.Errorf("no test address for %s", n)
		}
		s.Content[0] = "mutated"
		if again, _ := Lookup(n); again.Content[0] == "mutated" {
			t.Errorf("Lookup(%q) shares its Content slice", n)
		}
	}
	if _, ok := Lookup("fax"); ok {
		t.Error(`Lookup("fax") found a channel`)
	}
	if sms, _ := Lookup("sms"); sms.MaxTextChars != 1530 || sms.MaxParts != 10 {
		t.Errorf("sms spec = %+v", sms)
	}
}
