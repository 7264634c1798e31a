package model

import (
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Token classes: what the tokeniser puts in place of things whose exact value says
// little (a phone number) but whose presence says a lot.
const (
	tokURL       = "<url>"
	tokEmail     = "<email>"
	tokMoney     = "<money>"     // £5, $1,000, 150p, 1.50ppm
	tokPhone     = "<phone>"     // 7 or more digits
	tokShortcode = "<shortcode>" // 4–6 digits
	tokCurrency  = "<currency>"  // a currency sign without an amount
	tokCode      = "<code>"      // a one-time code: 4–8 digits (or letters and digits) among code words
)

// Feature namespaces, hashed in first so equal strings of different kinds differ.
const (
	nsWord   = 'w'
	nsBigram = 'b'
	nsChars  = 'c'
	nsMeta   = 'm'
	nsAsk    = 'a'
	nsCodeW  = 'W' // nsWord and nsBigram again, in a message about a code
	nsCodeB  = 'B'
)

// featureOpts are the extraction settings a model was trained with (saved with it).
type featureOpts struct {
	CharMin int `json:"char_min"`
	CharMax int `json:"char_max"`
	// Tokens is the tokeniser's revision: 0 the first (numbers classed by length
	// alone); 1 adds one-time codes, amounts next to a currency code, the request
	// verb before a code word and a message-about-a-code's own copies of its words
	// and bigrams (numbers.go). A model scores text as it was trained to.
	Tokens int `json:"tokens,omitempty"`
}

// tokensLatest is the tokeniser revision Train uses.
const tokensLatest = 1

// kindLetter names single-character features; Explain leaves them out (letter
// frequencies carry style, not content, and read as noise to a human).
const kindLetter = "letter"

// Feature kinds, recorded per occurrence when Explain asks for them.
const (
	kWord uint8 = iota
	kBigram
	kChars
	kLetter
	kMeta
	kAsk
	kCodeWord
	kCodeBigram
)

var kindNames = [...]string{kWord: "word", kBigram: "bigram", kChars: "chars", kLetter: kindLetter, kMeta: "meta", kAsk: "ask",
	kCodeWord: "code-word", kCodeBigram: "code-bigram"}

// metaNames are the meta features in the order meta adds them.
var metaNames = [...]string{"length", "digit_ratio", "capital_ratio", "exclamations"}

// feature says which feature an occurrence is without building its name, so
// Explain can group occurrences and name only the few it returns. tok indexes
// x.toks (for a bigram, its second token; for meta, metaNames); a char n-gram is
// tok's bytes [lo, hi) with "_" before when lead and after when trail; a meta
// feature's bucket is lo.
type feature struct {
	h           uint32
	kind        uint8
	lead, trail bool
	tok, lo, hi int32
}

// maxWordRunes caps the letters of a word used for n-grams (a 300-letter
// "word" is noise and would dominate the features).
const maxWordRunes = 24

// extractor turns a message into hashed features; one is reused per goroutine via a
// pool so Score does not allocate per token.
type extractor struct {
	toks   []string
	spans  []numSpan // numbers and letter-digit chunks the tokeniser found (numbers.go)
	hashes []uint32
	feats  []feature // parallel to hashes, only when describing (Explain)
	descr  bool
	runes  []rune
	offs   []int32 // byte offset in the word of each rune in runes[1:], when describing
	lower  []byte  // the lower-cased text the tokens point into

	// Explain's scratch.
	groups []group
	table  []int32
	top    []int32
	name   []byte
}

func (x *extractor) reset(describe bool) {
	x.toks, x.spans, x.hashes, x.feats, x.descr = x.toks[:0], x.spans[:0], x.hashes[:0], x.feats[:0], describe
}

// FNV-1a, then a murmur3 finaliser so the low bits used as the bucket are well mixed.
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func hashByte(h uint32, b byte) uint32 { return (h ^ uint32(b)) * fnvPrime }

func hashString(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h = hashByte(h, s[i])
	}
	return h
}

func hashRune(h uint32, r rune) uint32 {
	if r < utf8.RuneSelf {
		return hashByte(h, byte(r))
	}
	var b [utf8.UTFMax]byte
	n := utf8.EncodeRune(b[:], r)
	for i := 0; i < n; i++ {
		h = hashByte(h, b[i])
	}
	return h
}

func finish(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// extract fills x.hashes (and x.feats when describing) with text's features: word
// unigrams and bigrams over the normalised tokens, character n-grams inside words,
// and a few meta features about the raw text.
func (x *extractor) extract(text string, o featureOpts) {
	x.meta(text)
	x.lower = appendLower(x.lower[:0], text)
	// The tokens point into x.lower, which is overwritten by the next extract;
	// nothing keeps them past it (Explain copies what it names).
	lower := unsafe.String(unsafe.SliceData(x.lower), len(x.lower))
	x.tokenize(lower)
	if o.Tokens >= 1 {
		x.reclass(lower)
	}
	for i, t := range x.toks {
		x.add(hashString(hashByte(fnvOffset, nsWord), t), feature{kind: kWord, tok: int32(i)})
		if i > 0 {
			h := hashString(hashByte(fnvOffset, nsBigram), x.toks[i-1])
			h = hashString(hashByte(h, ' '), t)
			x.add(h, feature{kind: kBigram, tok: int32(i)})
		}
		if t[0] != '<' {
			x.charGrams(i, t, o)
		}
	}
	if o.Tokens >= 1 && x.asks() {
		x.codeCopies()
	}
}

// appendLower appends strings.ToLower(s) to b without allocating a string: ASCII
// byte by byte, otherwise rune by rune with invalid bytes as U+FFFD, as
// strings.Map does.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, unicode.ToLower(r))
		i += n
	}
	return b
}

// add records a feature's hash and, when describing, which feature it is (f's h
// is set here).
func (x *extractor) add(h uint32, f feature) {
	h = finish(h)
	x.hashes = append(x.hashes, h)
	if x.descr {
		f.h = h
		x.feats = append(x.feats, f)
	}
}

// charGrams adds the n-grams of "_word_" for n in [CharMin, CharMax].
func (x *extractor) charGrams(tok int, w string, o featureOpts) {
	if !isLetterStart(w) {
		return
	}
	x.runes = append(x.runes[:0], '_')
	x.offs = x.offs[:0]
	end := len(w)
	for j, r := range w {
		if len(x.runes) == 1+maxWordRunes {
			end = j
			break
		}
		x.runes = append(x.runes, r)
		if x.descr {
			x.offs = append(x.offs, int32(j))
		}
	}
	if x.descr {
		x.offs = append(x.offs, int32(end))
	}
	x.runes = append(x.runes, '_')
	rs := x.runes
	// Each start extends its hash one rune at a time, so all lengths cost one pass.
	for i := range rs {
		h := hashByte(fnvOffset, nsChars)
		for n := 1; n <= o.CharMax && i+n <= len(rs); n++ {
			h = hashRune(h, rs[i+n-1])
			if n < o.CharMin {
				continue
			}
			if !x.descr {
				x.add(h, feature{})
				continue
			}
			// rs[i:i+n] is the word's runes [a, b) with the "_" either side it reaches.
			a, b := max(i, 1)-1, min(i+n, len(rs)-1)-1
			f := feature{kind: kChars, tok: int32(tok), lo: x.offs[a], hi: x.offs[b], lead: i == 0, trail: i+n == len(rs)}
			if n == 1 {
				f.kind = kLetter
			}
			x.add(h, f)
		}
	}
}

func isLetterStart(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isLetter(r)
}

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(r)
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || r >= '\t' && r <= '\r'
	}
	return unicode.IsSpace(r)
}

// tokenize splits lower-cased s into x.toks: each whitespace-separated chunk is a
// URL or an e-mail address as a whole, otherwise runs of letters, numbers (classed by
// length, or as money next to a currency sign or a p/ppm suffix) and "!".
func (x *extractor) tokenize(s string) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if isSpace(r) {
			i += n
			continue
		}
		j := i
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if isSpace(r) {
				break
			}
			j += n
		}
		x.chunk(s[i:j], i)
		i = j
	}
}

// chunk tokenises one whitespace-separated chunk c, which starts at byte base of
// the text; it records the numbers it finds in x.spans for reclass.
func (x *extractor) chunk(c string, base int) {
	if at := strings.IndexByte(c, '@'); at > 0 && at+1 < len(c) && strings.IndexByte(c[at+1:], '.') > 0 && !strings.Contains(c, "://") {
		x.toks = append(x.toks, tokEmail)
		return
	}
	if isURL(c) {
		x.toks = append(x.toks, tokURL)
		return
	}
	alnum, firstTok := isAlnumCode(c), len(x.toks)
	currency := false
	for i := 0; i < len(c); {
		r, n := utf8.DecodeRuneInString(c[i:])
		switch {
		case isLetter(r):
			j := i + n
			for j < len(c) {
				r, n := utf8.DecodeRuneInString(c[j:])
				if !isLetter(r) {
					break
				}
				j += n
			}
			w := c[i:j]
			if k := len(x.toks) - 1; i > 0 && isDigit(rune(c[i-1])) && k >= 0 && isPriceSuffix(w) {
				x.toks[k] = tokMoney
				if n := len(x.spans) - 1; n >= 0 && x.spans[n].first == int32(k) {
					x.spans = x.spans[:n] // an amount, not a number
				}
			} else {
				x.toks = append(x.toks, w)
			}
			i, currency = j, false
		case isDigit(r):
			j, digits, sep := i, 0, false
			for j < len(c) {
				if isDigit(rune(c[j])) {
					digits++
					j++
				} else if (c[j] == '.' || c[j] == ',') && j+1 < len(c) && isDigit(rune(c[j+1])) {
					j, sep = j+1, true
				} else {
					break
				}
			}
			if !currency && !alnum {
				x.spans = append(x.spans, numSpan{first: int32(len(x.toks)), last: int32(len(x.toks)),
					start: int32(base + i), end: int32(base + j), digits: int32(digits), sep: sep, plus: i > 0 && c[i-1] == '+'})
			}
			switch {
			case currency:
				x.toks = append(x.toks, tokMoney)
			case digits >= 7:
				x.toks = append(x.toks, tokPhone)
			case digits >= 4:
				x.toks = append(x.toks, tokShortcode)
			default:
				x.toks = append(x.toks, c[i:j])
			}
			i, currency = j, false
		case r == '£' || r == '$' || r == '€':
			if i+n >= len(c) || !isDigit(rune(c[i+n])) {
				x.toks = append(x.toks, tokCurrency)
			}
			i, currency = i+n, true
		case r == '!':
			x.toks = append(x.toks, "!")
			i, currency = i+n, false
		default:
			i, currency = i+n, false
		}
	}
	if alnum && len(x.toks) > firstTok {
		x.spans = append(x.spans, numSpan{first: int32(firstTok), last: int32(len(x.toks) - 1), start: int32(base), end: int32(base + len(c)), alnum: true})
	}
}

func isPriceSuffix(w string) bool {
	switch w {
	case "p", "ppm", "pence", "pmin", "pm", "gbp", "usd", "eur":
		return true
	}
	return false
}

var tlds = []string{"com", "net", "org", "co.uk", "biz", "info", "mobi", "tv", "uk", "ly", "io"}

// isURL: a scheme, a www. prefix or a known top-level domain after a dot.
func isURL(c string) bool {
	if i := strings.IndexByte(c, ':'); i >= 0 && strings.HasPrefix(c[i:], "://") || strings.HasPrefix(c, "www.") {
		return true
	}
	for i := strings.IndexByte(c, '.'); i >= 0; {
		if i > 0 && isAlnumByte(c[i-1]) {
			rest := c[i+1:]
			for _, t := range tlds {
				if strings.HasPrefix(rest, t) && (len(rest) == len(t) || !isAlnumByte(rest[len(t)])) {
					return true
				}
			}
		}
		next := strings.IndexByte(c[i+1:], '.')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

func isAlnumByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b >= 'A' && b <= 'Z'
}

// meta adds bucketed facts about the raw text: length, digit and capital ratios,
// exclamation marks.
func (x *extractor) meta(text string) {
	var runes, letters, upper, digits, bangs int
	for _, r := range text {
		runes++
		switch {
		case isDigit(r):
			digits++
		case r == '!':
			bangs++
		case r >= 'A' && r <= 'Z' || r >= utf8.RuneSelf && unicode.IsUpper(r):
			upper++
			letters++
		case isLetter(r):
			letters++
		}
	}
	x.metaBucket(0, bucket(runes, 20, 10))
	if runes > 0 {
		x.metaBucket(1, digits*20/runes)
	}
	if letters >= 5 {
		x.metaBucket(2, upper*10/letters)
	}
	x.metaBucket(3, min(bangs, 3))
}

func bucket(v, width, top int) int { return min(v/width, top) }

func (x *extractor) metaBucket(i, b int) {
	h := hashString(hashByte(fnvOffset, nsMeta), metaNames[i])
	h = hashByte(hashByte(h, '='), byte(b))
	x.add(h, feature{kind: kMeta, tok: int32(i), lo: int32(b)})
}
