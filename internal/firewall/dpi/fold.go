package dpi

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/unicode/norm"
)

// kind says what folding did to one source rune, which decides whether it counts as
// obfuscation (case folding and accents do not; look-alikes and invisibles do).
type kind uint8

const (
	kindSame      kind = iota // kept as is
	kindLower                 // case folded only
	kindDiacritic             // accents stripped (é → e) or another normalisation that hides nothing
	kindCompat                // compatibility form of a Latin letter or digit (fullwidth, math bold, ligature)
	kindHomoglyph             // another script's look-alike (Cyrillic а → a, Greek ο → o)
	kindInvisible             // removed: zero-width, soft hyphen, other format characters
	kindBidi                  // removed: bidirectional control
	kindMark                  // removed: combining mark
)

// Anomaly bits, one per entry of the fixed vocabulary (anomalyNames).
const (
	anInvisible uint16 = 1 << iota
	anBidi
	anReplacement
	anInvalidUTF8
	anControl
	anPrivateUse
	anUnassigned
	anMixedScript
	anCombining
)

// Encoding anomalies reported in Result.Anomalies, in this order.
const (
	AnomalyInvisible   = "invisible_characters"
	AnomalyBidi        = "bidi_control"
	AnomalyReplacement = "replacement_character"
	AnomalyInvalidUTF8 = "invalid_utf8"
	AnomalyControl     = "control_characters"
	AnomalyPrivateUse  = "private_use"
	AnomalyUnassigned  = "unassigned_code_point"
	AnomalyMixedScript = "mixed_script"
	AnomalyCombining   = "excessive_combining_marks"
)

var anomalyNames = [...]string{
	AnomalyInvisible, AnomalyBidi, AnomalyReplacement, AnomalyInvalidUTF8, AnomalyControl,
	AnomalyPrivateUse, AnomalyUnassigned, AnomalyMixedScript, AnomalyCombining,
}

// Scripts that matter for mixed-script words.
const (
	scriptLatin uint8 = 1 << iota
	scriptCyrillic
	scriptGreek
	scriptOther
)

// fold is the precomputed treatment of one non-ASCII rune.
type fold struct {
	to     string // replacement when kind is not kindSame (empty: removed)
	kind   kind
	script uint8  // the source rune's script, for letters
	anom   uint16 // anomaly bit the rune raises on its own
}

// tableLimit bounds the precomputed table: the BMP plus the supplementary plane that
// holds mathematical alphanumerics and enclosed letters. Above it runes are classified
// from their category alone.
const tableLimit = 0x20000

// folds is built once, on first use (about 130k runes through NFKC and the UTS #39
// skeleton), so Canonical costs a table lookup per non-ASCII rune.
var folds = sync.OnceValue(buildFolds)

func buildFolds() []fold {
	t := make([]fold, tableLimit)
	for r := rune(0x80); r < tableLimit; r++ {
		t[r] = classify(r)
	}
	// Make every replacement a fixed point, so Canonical is idempotent: a rune in a
	// replacement must fold to itself.
	for range 3 {
		changed := false
		for r := rune(0x80); r < tableLimit; r++ {
			f := &t[r]
			if f.kind == kindSame || f.to == "" {
				continue
			}
			if next := refold(t, f.to); next != f.to {
				f.to, changed = next, true
			}
		}
		if !changed {
			break
		}
	}
	return t
}

func refold(t []fold, s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(unicode.ToLower(r))
		case r < tableLimit && t[r].kind != kindSame:
			b.WriteString(t[r].to)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

var bidiControls = [...]rune{0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069}

// Letters and symbols that render as nothing without being format characters.
var blankLetters = [...]rune{0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x180E}

func isBidi(r rune) bool {
	for _, b := range bidiControls {
		if r == b {
			return true
		}
	}
	return false
}

func scriptOf(r rune) uint8 {
	switch {
	case !unicode.IsLetter(r):
		return 0
	case unicode.Is(unicode.Latin, r):
		return scriptLatin
	case unicode.Is(unicode.Cyrillic, r):
		return scriptCyrillic
	case unicode.Is(unicode.Greek, r):
		return scriptGreek
	}
	return scriptOther
}

// classify computes the fold of one rune outside the table's fast path too.
func classify(r rune) fold {
	f := fold{script: scriptOf(r)}
	switch {
	case r == utf8.RuneError:
		f.anom = anReplacement
		return f
	case isBidi(r):
		f.kind, f.anom = kindBidi, anBidi
		return f
	case unicode.Is(unicode.Cf, r) || isBlank(r):
		// The anomaly is raised by the caller, only inside a word: a zero-width
		// joiner between emoji is ordinary.
		f.kind = kindInvisible
		return f
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
		f.kind = kindMark
		return f
	case unicode.Is(unicode.Cc, r):
		f.anom = anControl
		return f
	case unicode.Is(unicode.Co, r):
		f.anom = anPrivateUse
		return f
	case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cs):
		f.anom = anUnassigned
		return f
	case r >= tableLimit:
		return f // CJK extensions and the like: nothing to fold
	}
	src := string(r)
	compat := strings.ToLower(norm.NFKC.String(src))
	skel := stripMarks(strings.ToLower(confusables.Skeleton(compat)))
	if !isASCIIAlnum(skel) {
		// Some look-alikes are listed in upper case only (Greek Κ, Cyrillic Н).
		skel = stripMarks(strings.ToLower(confusables.Skeleton(norm.NFKC.String(src))))
	}
	if skel != "" && isASCIIAlnum(skel) {
		f.to = skel
		switch {
		case skel == strings.ToLower(src):
			f.kind = kindLower
		case skel == stripMarks(strings.ToLower(norm.NFD.String(src))):
			f.kind = kindDiacritic
		case skel == stripMarks(norm.NFD.String(compat)) && f.script&(scriptCyrillic|scriptGreek) == 0:
			f.kind = kindCompat
		default:
			f.kind = kindHomoglyph
		}
		return f
	}
	to := norm.NFC.String(stripMarks(norm.NFD.String(compat)))
	switch {
	case to == src:
		f.kind = kindSame
	case to == strings.ToLower(src):
		f.kind, f.to = kindLower, to
	default:
		f.kind, f.to = kindDiacritic, to
	}
	return f
}

func isBlank(r rune) bool {
	for _, b := range blankLetters {
		if r == b {
			return true
		}
	}
	return false
}

func stripMarks(s string) string {
	if !strings.ContainsFunc(s, isMark) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isMark(r) {
			return -1
		}
		return r
	}, s)
}

func isMark(r rune) bool { return unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) }

func isASCIIAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// lookup returns the fold of a non-ASCII rune.
func lookup(t []fold, r rune) fold {
	if r < tableLimit {
		return t[r]
	}
	return classify(r)
}
