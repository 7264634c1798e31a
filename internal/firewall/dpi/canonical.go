package dpi

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// leet maps the digits and symbols that stand in for letters inside words.
var leet = [utf8.RuneSelf]byte{
	'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g',
	'@': 'a', '$': 's', '!': 'i', '|': 'l',
}

// stats is what canonicalisation found besides the text.
type stats struct {
	obfuscation int
	anomalies   uint16
	mixed       bool
}

type token struct {
	start, end      int
	letters, digits int
	leetable        bool // holds a digit or symbol l33t maps
}

// scratch holds the buffers of one canonicalisation; pooled so Scan allocates only
// what it returns.
type scratch struct {
	runes []rune
	toks  []token
	run   []rune
	out   []byte
}

var scratchPool = sync.Pool{New: func() any { return &scratch{runes: make([]rune, 0, 256), out: make([]byte, 0, 256)} }}

// Canonical is the normal form patterns and messages are compared in: NFKC,
// homoglyphs folded to their Latin look-alikes (Cyrillic а→a, Greek ο→o, fullwidth,
// …), accents stripped, invisible characters (zero-width space/joiner, soft hyphen,
// bidi controls) removed, lower case, l33t digits/symbols mapped to letters only
// inside tokens that contain a letter and no more digits than letters (fr33 → free,
// p@ypal → paypal, but "1000", "£5", "10am" and "$5bn" stay), three or more letters
// spaced or dotted one by one re-joined ("f r e e", "f.r.e.e" → free), and runs of
// whitespace, punctuation and symbols other than currency collapsed to one space.
// Rule keywords are matched in this form too. Canonical(Canonical(s)) == Canonical(s).
func Canonical(s string) string {
	sc := scratchPool.Get().(*scratch)
	var st stats
	out := string(sc.canonicalize(s, &st))
	sc.release()
	return out
}

// release returns the buffers to the pool unless one huge message grew them.
func (sc *scratch) release() {
	if cap(sc.runes) <= 1<<16 && cap(sc.out) <= 1<<18 {
		scratchPool.Put(sc)
	}
}

// canonicalize returns the canonical form in sc.out, valid until sc is reused.
func (sc *scratch) canonicalize(s string, st *stats) []byte {
	sc.fold(s, st)
	sc.tokenize()
	sc.emit(st)
	return sc.out
}

// fold maps each rune to its folded, lower-case form, dropping invisibles and marks,
// and finds the rune-level anomalies and mixed-script words.
func (sc *scratch) fold(s string, st *stats) {
	t := folds()
	rs := sc.runes[:0]
	var (
		wordScripts      uint8
		wordHomo, others int // homoglyph folds in this word, and in words not mixed
		latin, nonLatin  int // letters by script, to tell a Latin text from another
		marks            int // consecutive combining marks
	)
	endWord := func() {
		if wordScripts&scriptLatin != 0 && wordScripts&(scriptCyrillic|scriptGreek) != 0 {
			st.mixed = true
			st.anomalies |= anMixedScript
			st.obfuscation += wordHomo
		} else {
			others += wordHomo
		}
		wordScripts, wordHomo = 0, 0
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			marks = 0
			switch {
			case 'a' <= c && c <= 'z':
				wordScripts |= scriptLatin
				latin++
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
				wordScripts |= scriptLatin
				latin++
			case '0' <= c && c <= '9':
			case c < 0x20 || c == 0x7f:
				if c != '\t' && c != '\n' && c != '\r' {
					st.anomalies |= anControl
				}
				c = ' '
				endWord()
			default:
				endWord()
			}
			rs = append(rs, rune(c))
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size == 1 {
			st.anomalies |= anInvalidUTF8
			endWord()
			rs = append(rs, ' ')
			continue
		}
		f := lookup(t, r)
		st.anomalies |= f.anom
		switch f.kind {
		case kindMark:
			if marks++; marks > 2 {
				st.anomalies |= anCombining
			}
			continue
		case kindInvisible, kindBidi:
			// Inside a word it hides the word from a keyword match.
			if n := len(rs); n > 0 && isAlnum(rs[n-1]) {
				st.obfuscation++
				if f.kind == kindInvisible {
					st.anomalies |= anInvisible
				}
			}
			continue
		}
		marks = 0
		switch {
		case f.script == scriptLatin:
			wordScripts |= f.script
			latin++
		case f.script != 0:
			wordScripts |= f.script
			nonLatin++
		case !unicode.IsNumber(r):
			endWord()
		}
		switch f.kind {
		case kindSame:
			rs = append(rs, r)
			continue
		case kindHomoglyph:
			wordHomo++
		case kindCompat:
			st.obfuscation++
		}
		for _, x := range f.to {
			rs = append(rs, x)
		}
	}
	endWord()
	if latin > nonLatin {
		st.obfuscation += others
	}
	sc.runes = rs
}

func isAlnum(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || 'A' <= r && r <= 'Z'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z'
	}
	return unicode.IsLetter(r)
}

// inToken reports whether rs[i] belongs to a word; inside says a word is open. A l33t
// symbol belongs only where it stands for a letter: before a letter or digit ($ave,
// |ogin), or between two (p@ypal, w!n); "win!" and "$ 5" keep it a separator.
func inToken(rs []rune, i int, inside bool) bool {
	r := rs[i]
	if r >= utf8.RuneSelf {
		return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Sc, r) || unicode.Is(unicode.Mc, r)
	}
	switch {
	case 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
		return true
	case r == '$' || r == '|':
		return i+1 < len(rs) && isAlnum(rs[i+1])
	case r == '@' || r == '!':
		return inside && i+1 < len(rs) && isAlnum(rs[i+1])
	}
	return false
}

// ASCII character classes for tokenize's fast path.
const (
	cSep uint8 = iota
	cLetter
	cDigit
	cSymbol // a l33t symbol: $ | @ !
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cLetter
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit
	}
	for _, c := range "$|@!" {
		t[c] = cSymbol
	}
	return t
}()

func (sc *scratch) tokenize() {
	rs, toks := sc.runes, sc.toks[:0]
	for i := 0; i < len(rs); {
		if r := rs[i]; r < utf8.RuneSelf && asciiClass[r] == cSep || !inToken(rs, i, false) {
			i++
			continue
		}
		tk := token{start: i}
		for ; i < len(rs); i++ {
			r := rs[i]
			if r < utf8.RuneSelf {
				switch asciiClass[r] {
				case cLetter:
					tk.letters++
					continue
				case cDigit:
					tk.digits++
					tk.leetable = tk.leetable || leet[r] != 0
					continue
				case cSep:
				}
			}
			if !inToken(rs, i, i > tk.start) {
				break
			}
			switch {
			case r < utf8.RuneSelf:
				tk.leetable = true // a l33t symbol inside the word
			case unicode.IsLetter(r):
				tk.letters++
			}
		}
		tk.end = i
		toks = append(toks, tk)
	}
	sc.toks = toks
}

// single: a one-character letter or digit, a candidate for re-joining "f r e e".
func (tk token) single() bool { return tk.end-tk.start == 1 && tk.letters+tk.digits == 1 }

// emit writes the tokens separated by one space, re-joining spaced-out letters and
// mapping l33t.
func (sc *scratch) emit(st *stats) {
	toks, out := sc.toks, sc.out[:0]
	for k := 0; k < len(toks); {
		if !toks[k].single() {
			out = sc.word(out, sc.runes[toks[k].start:toks[k].end], toks[k], st)
			k++
			continue
		}
		j, joined := k, token{}
		for ; j < len(toks) && toks[j].single(); j++ {
			joined.letters += toks[j].letters
			joined.digits += toks[j].digits
			joined.leetable = joined.leetable || toks[j].leetable
		}
		if j-k >= 3 && joined.letters >= 2 {
			run := sc.run[:0]
			for _, tk := range toks[k:j] {
				run = append(run, sc.runes[tk.start])
			}
			sc.run = run
			st.obfuscation += j - k - 1
			out = sc.word(out, run, joined, st)
			k = j
			continue
		}
		for ; k < j; k++ {
			out = sc.word(out, sc.runes[toks[k].start:toks[k].end], toks[k], st)
		}
	}
	sc.out = out
}

func (sc *scratch) word(out []byte, w []rune, tk token, st *stats) []byte {
	if len(out) > 0 {
		out = append(out, ' ')
	}
	mapLeet := tk.leetable && tk.letters > 0 && tk.letters >= tk.digits && !isQuantity(w)
	for _, r := range w {
		if mapLeet && r < utf8.RuneSelf && leet[r] != 0 {
			out = append(out, leet[r])
			st.obfuscation++
			continue
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// isQuantity: an amount with a short unit ("10am", "5gb", "2nd", "$5bn"), which reads
// as digits, not as l33t.
func isQuantity(w []rune) bool {
	i := 0
	for i < len(w) && (w[i] == '$' || w[i] >= utf8.RuneSelf && unicode.Is(unicode.Sc, w[i])) {
		i++
	}
	d := i
	for i < len(w) && '0' <= w[i] && w[i] <= '9' {
		i++
	}
	if i == d {
		return false
	}
	l := i
	for i < len(w) && isLetter(w[i]) {
		i++
	}
	return i == len(w) && i-l >= 1 && i-l <= 3
}
