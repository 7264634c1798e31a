package model

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// refFeatures is the feature extraction as it was before Explain stopped naming
// every feature: each feature's hash and its name, built eagerly. It reuses only
// the tokeniser and the hash functions; the tests check its hashes equal the
// extractor's, so it pins both Score's features and Explain's names.
func refFeatures(text string, o featureOpts) (hashes []uint32, names []string) {
	add := func(h uint32, kind, name string) {
		hashes = append(hashes, finish(h))
		names = append(names, kind+" "+strconv.Quote(name))
	}
	metaBucket := func(name string, b int) {
		h := hashString(hashByte(fnvOffset, nsMeta), name)
		h = hashByte(hashByte(h, '='), byte(b))
		add(h, "meta", name+"="+strconv.Itoa(b))
	}
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
	metaBucket("length", bucket(runes, 20, 10))
	if runes > 0 {
		metaBucket("digit_ratio", digits*20/runes)
	}
	if letters >= 5 {
		metaBucket("capital_ratio", upper*10/letters)
	}
	metaBucket("exclamations", min(bangs, 3))

	x := &extractor{}
	lower := strings.ToLower(text)
	x.tokenize(lower)
	if o.Tokens >= 1 {
		x.reclass(lower)
	}
	for i, t := range x.toks {
		add(hashString(hashByte(fnvOffset, nsWord), t), "word", t)
		if i > 0 {
			h := hashString(hashByte(fnvOffset, nsBigram), x.toks[i-1])
			h = hashString(hashByte(h, ' '), t)
			add(h, "bigram", x.toks[i-1]+" "+t)
		}
		if t[0] == '<' || !isLetterStart(t) {
			continue
		}
		rs := []rune{'_'}
		for _, r := range t {
			if len(rs) == 1+maxWordRunes {
				break
			}
			rs = append(rs, r)
		}
		rs = append(rs, '_')
		for i := range rs {
			h := hashByte(fnvOffset, nsChars)
			for n := 1; n <= o.CharMax && i+n <= len(rs); n++ {
				h = hashRune(h, rs[i+n-1])
				if n < o.CharMin {
					continue
				}
				if n == 1 {
					add(h, kindLetter, string(rs[i]))
				} else {
					add(h, "chars", string(rs[i:i+n]))
				}
			}
		}
	}
	if o.Tokens >= 1 {
		// asks, eagerly: the request verb before each code word.
		about := false
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
					neg = neg || isNegation(x.toks[n])
				}
				h, name := hashByte(hashByte(fnvOffset, nsAsk), 0), x.toks[k]+" … code"
				if neg {
					h, name = hashByte(hashByte(fnvOffset, nsAsk), 1), "not "+name
				}
				add(hashString(h, x.toks[k]), "ask", name)
				break
			}
		}
		for i, t := range x.toks {
			if !about {
				break
			}
			add(hashString(hashByte(fnvOffset, nsCodeW), t), "code-word", t)
			if i > 0 {
				h := hashString(hashByte(fnvOffset, nsCodeB), x.toks[i-1])
				add(hashString(hashByte(h, ' '), t), "code-bigram", x.toks[i-1]+" "+t)
			}
		}
	}
	return hashes, names
}

// refExplain is Explain as it was: name every feature, sum by name, sort.
func refExplain(m *Model, text string, k int) []Contribution {
	if k <= 0 {
		return nil
	}
	hashes, names := refFeatures(text, m.feat)
	if len(hashes) == 0 {
		return nil
	}
	scale := featureScale(len(hashes))
	mask := uint32(len(m.weights) - 1)
	sum := make(map[string]float64, len(names))
	var order []string
	for i, h := range hashes {
		name := names[i]
		if strings.HasPrefix(name, kindLetter+" ") {
			continue
		}
		if _, seen := sum[name]; !seen {
			order = append(order, name)
		}
		sum[name] += float64(m.weights[h&mask]) * scale
	}
	var out []Contribution
	for _, name := range order {
		if w := sum[name]; w > 0 {
			out = append(out, Contribution{Feature: name, Weight: w})
		}
	}
	slices.SortStableFunc(out, func(a, b Contribution) int { return cmp.Compare(b.Weight, a.Weight) })
	if len(out) > k {
		out = out[:k]
	}
	return out
}
