package model

import (
	"strings"
	"unicode/utf8"
)

// The tokeniser's first revision classed a number by its length alone: 4–6 digits
// were a <shortcode>, 7 or more a <phone>. In the SMS spam corpus those are the
// premium short codes and numbers of "text WIN to 80086" and "call 09061701461",
// so every one-time passcode ("Your code is 482913") carried a premium short code's
// weight. Revision 1 looks at the words around a number:
//
//   - a number written right after a currency code ("SGD 120.00", "250,00 EUR") is
//     <money>, as one after a currency sign already was;
//   - a code-shaped token — 4–8 digits, digit groups a space or hyphen apart that
//     add up to 4–8 ("381 902", "228-411", "44 71 90"), or a chunk of 4–8 letters
//     and digits ("3FK8P", "RP176781") — with a code word near it ("code", "OTP",
//     "PIN", "passcode", "TAN", "código", "Bestätigungscode", …) is <code>;
//   - unless it follows a word that makes it an address ("text … to 80086", "call
//     …"): then it stays a short code or phone number, as a premium number is.
//
// A message with a code or a code word also gets two kinds of features of its own
// (asks, codeCopies). The words are context in several languages, not senders: what
// each weighs is learned like any other feature (the training data has one-time
// codes, and the "claim code"s and "send us the code" of spam and phishing, on both
// sides).

// numSpan is a number, or a chunk of letters and digits, that reclass may reclass:
// tokens [first, last] of x.toks, bytes [start, end) of the lower-cased text.
type numSpan struct {
	first, last int32
	start, end  int32
	digits      int32
	sep         bool // has a decimal or thousands separator: an amount or a time
	plus        bool // right after '+': an international phone number
	alnum       bool // a letters-and-digits chunk
}

// Context windows, in tokens: code words are looked for this far before and after.
const (
	codeWindowBefore = 4
	codeWindowAfter  = 6
)

// reclass applies revision 1's rules to the spans the tokeniser found in s.
func (x *extractor) reclass(s string) {
	if len(x.spans) == 0 {
		return
	}
	changed := false
	for i := 0; i < len(x.spans); {
		sp := x.spans[i]
		if !sp.alnum && (x.isCurrencyAt(sp.first-1) || x.isCurrencyAt(sp.last+1)) {
			x.toks[sp.first] = tokMoney
			i++
			continue
		}
		// A run of numbers, each a single space or hyphen from the previous one.
		j := i + 1
		for !sp.alnum && j < len(x.spans) && !x.spans[j].alnum && glued(s, x.spans[j-1], x.spans[j]) {
			j++
		}
		first, last := sp.first, x.spans[j-1].last
		if x.codeShaped(x.spans[i:j]) && !x.isAddressWord(first-1) && x.nearCodeWord(first, last) {
			x.toks[first] = tokCode
			for k := first + 1; k <= last; k++ {
				x.toks[k] = "" // merged into the code; dropped below
			}
			changed = changed || last > first
		}
		i = j
	}
	if !changed {
		return
	}
	out := x.toks[:0]
	for _, t := range x.toks {
		if t != "" {
			out = append(out, t)
		}
	}
	x.toks = out
}

// glued: b follows a with exactly one space or hyphen between them.
func glued(s string, a, b numSpan) bool {
	return a.end+1 == b.start && (s[a.end] == ' ' || s[a.end] == '-')
}

// codeShaped: one number of 4–8 digits, groups of 2–4 digits totalling 4–8, or a
// letters-and-digits chunk (isAlnumCode). Amounts, times and international phone
// numbers are not.
func (x *extractor) codeShaped(run []numSpan) bool {
	if len(run) == 1 && run[0].alnum {
		return true
	}
	total := int32(0)
	for _, sp := range run {
		if sp.sep || sp.plus || len(run) > 1 && (sp.digits < 2 || sp.digits > 4) {
			return false
		}
		total += sp.digits
	}
	return total >= 4 && total <= 8
}

func (x *extractor) isCurrencyAt(i int32) bool {
	if i < 0 || int(i) >= len(x.toks) {
		return false
	}
	switch x.toks[i] {
	case "gbp", "usd", "eur", "sgd", "inr", "rs", "myr", "rm", "hkd", "aud", "cad", "chf", "php", "idr", "rp",
		"pln", "zar", "kes", "ngn", "jpy", "cny", "rmb", "thb", "vnd", "brl", "mxn", "sek", "nok", "dkk", "aed", "sar":
		return true
	}
	return false
}

// isAddressWord: the token at i makes the number after it a destination ("to
// 80086", "call 0906…"), never a code.
func (x *extractor) isAddressWord(i int32) bool {
	if i < 0 {
		return false
	}
	switch x.toks[i] {
	case "to", "call", "text", "txt", "dial", "ring", "sms", "reply", "send":
		return true
	}
	return false
}

func (x *extractor) nearCodeWord(first, last int32) bool {
	for k := max(0, first-codeWindowBefore); k < first; k++ {
		if isCodeWord(x.toks[k]) {
			return true
		}
	}
	for k := last + 1; k <= last+codeWindowAfter && int(k) < len(x.toks); k++ {
		if isCodeWord(x.toks[k]) {
			return true
		}
	}
	return false
}

// isCodeWord: a word that names a one-time code, in the languages of the training
// data: exact words, and compounds ending in one ("passcode", "netcode",
// "bestätigungscode", "verifieringskod").
func isCodeWord(t string) bool {
	if t == "" || t[0] == '<' {
		return false
	}
	switch t {
	case "otp", "otps", "pin", "pins", "tan", "mtan", "tac", "password", "passwort", "senha", "clave", "contraseña",
		"token", "mfa", "verify", "verification", "verificación", "vérification", "código", "codigo", "codice",
		"kode", "kod", "kodu", "kodunuz", "код", "кода":
		return true
	}
	// Compounds: only words ending in one of the suffixes' last bytes are checked
	// (this runs on every token of every message).
	switch t[len(t)-1] {
	case 'e', 's', 'd', 0xb4: // code, kode, codice; codes; kod; код
		for _, suf := range [...]string{"code", "codes", "kode", "kod", "код", "codice"} {
			if strings.HasSuffix(t, suf) {
				return true
			}
		}
	}
	if t[0] >= 0xe3 { // CJK and Hangul
		for _, sub := range [...]string{"验证码", "コード", "인증번호"} {
			if strings.Contains(t, sub) {
				return true
			}
		}
	}
	return false
}

// isAlnumCode: c, without the punctuation around it, is 4–8 ASCII letters and
// digits with at least two digits and a letter, and is not a number with a unit
// after it ("12hrs", "150ppm", "10am").
func isAlnumCode(c string) bool {
	i, j := 0, len(c)
	for i < j && c[i] < utf8.RuneSelf && !isAlnumByte(c[i]) {
		i++
	}
	for j > i && c[j-1] < utf8.RuneSelf && !isAlnumByte(c[j-1]) {
		j--
	}
	if c = c[i:j]; len(c) < 4 || len(c) > 8 {
		return false
	}
	digits, letters, unit := 0, 0, true // unit: digits then letters only
	for i := 0; i < len(c); i++ {
		switch b := c[i]; {
		case b >= '0' && b <= '9':
			digits++
			if letters > 0 {
				unit = false
			}
		case b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z':
			letters++
			if digits == 0 {
				unit = false
			}
		default:
			return false
		}
	}
	return digits >= 2 && letters >= 1 && !unit
}

// asks adds, for each code word or <code>, the request verb before it, if any
// within askWindow tokens, and whether that verb is negated: "share the code you
// received" is what phishing asks for, "never share this code" what a bank says.
// The feature pools every code word as "code", so what one language's phishing
// teaches carries to the other code words.
//
// It reports whether the message has a code or a code word at all.
func (x *extractor) asks() (about bool) {
	for i, t := range x.toks {
		if t != tokCode && !isCodeWord(t) {
			continue
		}
		about = true
		for k := i - 1; k >= 0 && k >= i-askWindow; k-- {
			if !isRequestVerb(x.toks[k]) {
				continue
			}
			neg := false
			for n := k - 1; n >= 0 && n >= k-3; n-- {
				if isNegation(x.toks[n]) {
					neg = true
					break
				}
			}
			h := hashByte(hashByte(fnvOffset, nsAsk), b2u8(neg))
			h = hashString(h, x.toks[k])
			x.add(h, feature{kind: kAsk, tok: int32(i), lo: int32(k), lead: neg})
			break
		}
	}
	return about
}

const askWindow = 5

func b2u8(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func isRequestVerb(t string) bool {
	switch t {
	case "send", "forward", "share", "give", "tell", "read", "reply", "text", "txt", "pass", "provide",
		"envía", "envia", "envíanos", "envie", "envíe", "senden", "envoyez", "kirim", "kirimkan", "compartir",
		"compartas", "compartilhe", "partilhe", "condividerlo", "kongsi", "berikan", "teilen", "deel", "ibahagi":
		return true
	}
	return false
}

func isNegation(t string) bool {
	switch t {
	case "not", "never", "don", "dont", "no", "nunca", "niemals", "nie", "non", "ne", "pas", "jangan", "nao", "não", "nicht":
		return true
	}
	return false
}

// codeCopies adds every word and bigram again in their own namespaces, for a
// message about a code (feature augmentation, as in domain adaptation): the
// shared copies carry what the whole corpus teaches, these what only messages
// about codes do. "send me" in a chat and "send me the code" in phishing then no
// longer pull one weight two ways, and neither do "reply" in premium-rate spam and
// in a bank's "reply if this wasn't you".
func (x *extractor) codeCopies() {
	for i, t := range x.toks {
		x.add(hashString(hashByte(fnvOffset, nsCodeW), t), feature{kind: kCodeWord, tok: int32(i)})
		if i > 0 {
			h := hashString(hashByte(fnvOffset, nsCodeB), x.toks[i-1])
			h = hashString(hashByte(h, ' '), t)
			x.add(h, feature{kind: kCodeBigram, tok: int32(i)})
		}
	}
}
