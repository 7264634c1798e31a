package dpi

import "testing"

func TestCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		obfuscation    int
	}{
		{"plain text lower-cased", "Hello World", "hello world", 0},
		{"punctuation collapses", "Hello,   world!!! How's it -- going?", "hello world how s it going", 0},
		{"l33t digits", "FR33 entry", "free entry", 2},
		{"l33t symbols", "p@ypal acc0unt", "paypal account", 2},
		{"l33t dollar and bar", "$ave |ogin", "save login", 2},
		{"l33t inside a word only", "w!n now!", "win now", 1},
		{"prices stay", "Win £1000 or $500 now", "win £1000 or $500 now", 0},
		{"quantities stay", "10am 2nd 5gb $5bn", "10am 2nd 5gb $5bn", 0},
		{"phone numbers stay", "Call 0800 123 4567 or +44 7700 900123", "call 0800 123 4567 or 44 7700 900123", 0},
		{"codes with more digits stay", "Ref AB12345", "ref ab12345", 0},
		{"spaced letters", "f r e e ringtones", "free ringtones", 3},
		{"dotted letters", "F.R.E.E", "free", 3},
		{"dashed letters with l33t", "w-1-n-n-3-r", "winner", 7},
		{"two single letters stay apart", "a b test", "a b test", 0},
		{"spaced digits stay apart", "1 2 3 go", "1 2 3 go", 0},
		{"cyrillic homoglyph in a latin word", "p\u0430yp\u0430l", "paypal", 2},
		{"greek homoglyph in a latin word", "g\u03bf\u03bfgle", "google", 2},
		{"greek capitals in a latin text", "Reply \u039f\u039a now", "reply ok now", 2},
		{"greek capitals alone are greek", "\u039f\u039a", "ok", 0},
		{"fullwidth", "\uff26\uff32\uff25\uff25", "free", 4},
		{"mathematical bold", "\U0001d41f\U0001d42b\U0001d41e\U0001d41e", "free", 4},
		{"zero-width space", "fr\u200bee", "free", 1},
		{"zero-width joiner and non-joiner", "cl\u200dic\u200ck", "click", 2},
		{"soft hyphen", "veri\u00adfy", "verify", 1},
		{"bidi override", "ver\u202eify", "verify", 1},
		{"accents are not obfuscation", "Café Über", "cafe uber", 0},
		{"combining marks dropped", "cafe\u0301", "cafe", 0},
		{"emoji are separators", "free\U0001F381gift", "free gift", 0},
		{"emoji zero-width joiner is ordinary", "\U0001F468\u200d\U0001F469 hi", "hi", 0},
		{"cyrillic text stays consistent", "Привет", "пpивeт", 0},
		{"invalid utf-8 is a separator", "free\xffgift", "free gift", 0},
		{"control characters are separators", "free\x00gift\tnow", "free gift now", 0},
		{"empty", "", "", 0},
		{"only punctuation", "!!! ... ???", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Canonical(tc.in); got != tc.want {
				t.Fatalf("Canonical(%q) = %q, want %q", tc.in, got, tc.want)
			}
			var st stats
			sc := &scratch{}
			sc.canonicalize(tc.in, &st)
			if st.obfuscation != tc.obfuscation {
				t.Errorf("obfuscation of %q = %d, want %d", tc.in, st.obfuscation, tc.obfuscation)
			}
			if again := Canonical(tc.want); again != tc.want {
				t.Errorf("not idempotent: Canonical(%q) = %q", tc.want, again)
			}
		})
	}
}

// Homoglyphs in a text of their own script are that script, not an attack: they fold
// the same way (so a Cyrillic keyword still matches) but do not count.
func TestCanonicalForeignScriptIsNotObfuscation(t *testing.T) {
	t.Parallel()
	var st stats
	(&scratch{}).canonicalize("Ваш заказ готов", &st)
	if st.obfuscation != 0 || st.mixed {
		t.Fatalf("stats = %+v, want no obfuscation and no mixed script", st)
	}
}
