// Package dpi is the firewall's deep packet inspection building block: one
// Aho-Corasick automaton over every pattern, matched against the message's canonical
// form (l33t, spacing, homoglyphs and invisibles undone), plus URL and registrable
// domain extraction and encoding anomalies.
package dpi

import (
	"slices"
	"strconv"
	"strings"

	ahocorasick "github.com/BobuSumisu/aho-corasick"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Pattern is one keyword or phrase to look for. Weight says how incriminating it is.
type Pattern struct {
	Text     string `json:"text"`
	Category string `json:"category"`
	Weight   int    `json:"weight"` // 0-100
}

// Hit is a pattern found in a message.
type Hit struct {
	Text     string `json:"text"` // the pattern's canonical text
	Category string `json:"category"`
	Weight   int    `json:"weight"`
}

// Result is what Scan finds in one message.
type Result struct {
	Canonical string
	// Hits: each pattern at most once, in order of first occurrence; whole words only
	// ("free" does not hit "freedom").
	Hits        []Hit
	URLs        []string // as written
	Domains     []string // registrable domains (eTLD+1), lower case, punycode decoded, deduplicated
	Shortener   bool     // a URL is on a known link shortener
	Obfuscation int      // characters changed beyond case folding (l33t, spacing, homoglyphs, invisibles)
	MixedScript bool     // a word mixes Latin with Cyrillic or Greek letters
	Anomalies   []string // from the fixed vocabulary Anomaly*, in that order
}

// Scanner matches a compiled pattern set. It is immutable and safe for concurrent use.
type Scanner struct {
	trie     *ahocorasick.Trie
	patterns []Hit // by automaton pattern id
}

// Compile canonicalises every pattern and builds one automaton over them. Patterns
// whose canonical texts are equal merge, keeping the highest weight (and that one's
// category). Errors are errs.Invalid with field paths such as "[3].weight".
func Compile(patterns []Pattern) (*Scanner, error) {
	var bad []errs.FieldViolation
	s := &Scanner{patterns: make([]Hit, 0, len(patterns))}
	index := make(map[string]int, len(patterns))
	for i, p := range patterns {
		at := "[" + strconv.Itoa(i) + "]"
		c := Canonical(p.Text)
		if c == "" {
			bad = append(bad, errs.FieldViolation{Field: at + ".text", Reason: "must contain a letter or digit"})
		}
		if p.Weight < 0 || p.Weight > 100 {
			bad = append(bad, errs.FieldViolation{Field: at + ".weight", Reason: "must be 0-100, got " + strconv.Itoa(p.Weight)})
		}
		if c == "" || p.Weight < 0 || p.Weight > 100 {
			continue
		}
		if j, ok := index[c]; ok {
			if p.Weight > s.patterns[j].Weight {
				s.patterns[j].Weight, s.patterns[j].Category = p.Weight, p.Category
			}
			continue
		}
		index[c] = len(s.patterns)
		s.patterns = append(s.patterns, Hit{Text: c, Category: p.Category, Weight: p.Weight})
	}
	if len(bad) > 0 {
		return nil, invalid("invalid patterns", bad)
	}
	b := ahocorasick.NewTrieBuilder()
	for _, p := range s.patterns {
		b.AddString(p.Text)
	}
	s.trie = b.Build()
	return s, nil
}

// Len is the number of distinct patterns.
func (s *Scanner) Len() int { return len(s.patterns) }

// Scan canonicalises text and finds the patterns, URLs, domains and anomalies in it.
// It never panics, whatever the bytes.
func (s *Scanner) Scan(text string) Result {
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	var st stats
	canon := sc.canonicalize(text, &st)
	r := Result{
		Canonical:   string(canon),
		Obfuscation: st.obfuscation,
		MixedScript: st.mixed,
	}
	r.Hits = s.match(canon)
	r.URLs = extractURLs(text)
	r.Domains, r.Shortener = domains(r.URLs)
	for i, name := range anomalyNames {
		if st.anomalies&(1<<i) != 0 {
			r.Anomalies = append(r.Anomalies, name)
		}
	}
	return r
}

type occurrence struct{ start, id int }

// match walks the automaton once and keeps whole-word matches: canonical text is
// words separated by single spaces, so a boundary is an end of text or a space.
func (s *Scanner) match(canon []byte) []Hit {
	if s.trie == nil || len(canon) == 0 {
		return nil
	}
	var (
		buf  [8]occurrence
		seen = buf[:0]
	)
	s.trie.Walk(canon, func(end, n, pattern int64) bool {
		start, stop := int(end-n+1), int(end+1)
		if start > 0 && canon[start-1] != ' ' || stop < len(canon) && canon[stop] != ' ' {
			return true
		}
		id := int(pattern)
		for _, o := range seen {
			if o.id == id {
				return true
			}
		}
		seen = append(seen, occurrence{start, id})
		return true
	})
	if len(seen) == 0 {
		return nil
	}
	// The automaton reports by end; first occurrence means by start (a shorter pattern
	// at the same start ends first, so a stable sort keeps it first).
	slices.SortStableFunc(seen, func(a, b occurrence) int { return a.start - b.start })
	hits := make([]Hit, len(seen))
	for i, o := range seen {
		hits[i] = s.patterns[o.id]
	}
	return hits
}

// invalid reports field violations with each named in the message too (a CLI or a
// log shows the message only).
func invalid(what string, bad []errs.FieldViolation) *errs.Error {
	parts := make([]string, len(bad))
	for i, f := range bad {
		parts[i] = f.Field + ": " + f.Reason
	}
	return &errs.Error{Code: errs.Invalid, Message: what + ": " + strings.Join(parts, "; "), Fields: bad}
}
