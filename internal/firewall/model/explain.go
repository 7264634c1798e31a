package model

import "strconv"

// group is one distinct feature of a message: its first occurrence in x.feats and
// its summed push on the log-odds.
type group struct {
	first int32
	sum   float64
}

// Explain returns up to k features of text that push most toward spam, strongest
// first, for the firewall's human-readable explanation. Repeated features are
// summed; features pushing toward ham and single-character features are left out;
// equal pushes keep the order the features first occur in. Only the returned
// features are named, so it allocates the result and its k names and no more.
func (m *Model) Explain(text string, k int) []Contribution {
	if k <= 0 {
		return nil
	}
	x := m.extractor()
	defer m.pool.Put(x)
	x.reset(true)
	x.extract(text, m.feat)
	if len(x.hashes) == 0 {
		return nil
	}
	scale := featureScale(len(x.hashes))
	mask := uint32(len(m.weights) - 1)

	// Group occurrences by feature in first-occurrence order: an open-addressed
	// table keyed by hash, a hit confirmed by comparing the features themselves so
	// two features whose hashes collide stay apart, as their names would.
	size := 16
	for size < 2*len(x.feats) {
		size *= 2
	}
	x.table = append(x.table[:0], make([]int32, size)...)
	tmask := uint32(size - 1)
	x.groups = x.groups[:0]
	for i := range x.feats {
		f := &x.feats[i]
		if f.kind == kLetter {
			continue
		}
		w := float64(m.hot.weight(f.h&mask)) * scale
		for slot := f.h & tmask; ; slot = (slot + 1) & tmask {
			g := x.table[slot]
			if g == 0 {
				x.groups = append(x.groups, group{first: int32(i), sum: w})
				x.table[slot] = int32(len(x.groups))
				break
			}
			if gr := &x.groups[g-1]; x.feats[gr.first].h == f.h && x.same(gr.first, int32(i)) {
				gr.sum += w
				break
			}
		}
	}

	// The k strongest positive groups, strongest first; a later group goes after
	// the equal ones already held (a stable sort's order).
	x.top = x.top[:0]
	for gi, g := range x.groups {
		if !(g.sum > 0) || len(x.top) == k && !(g.sum > x.groups[x.top[k-1]].sum) {
			continue
		}
		p := len(x.top)
		for p > 0 && x.groups[x.top[p-1]].sum < g.sum {
			p--
		}
		if len(x.top) < k {
			x.top = append(x.top, 0)
		}
		copy(x.top[p+1:], x.top[p:len(x.top)-1])
		x.top[p] = int32(gi)
	}
	if len(x.top) == 0 {
		return nil
	}
	out := make([]Contribution, len(x.top))
	for i, gi := range x.top {
		g := x.groups[gi]
		out[i] = Contribution{Feature: x.featureName(g.first), Weight: g.sum}
	}
	return out
}

// same reports whether occurrences i and j are the same feature, i.e. would have
// the same name.
func (x *extractor) same(i, j int32) bool {
	a, b := &x.feats[i], &x.feats[j]
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case kWord, kCodeWord:
		return x.toks[a.tok] == x.toks[b.tok]
	case kBigram, kCodeBigram:
		return x.toks[a.tok] == x.toks[b.tok] && x.toks[a.tok-1] == x.toks[b.tok-1]
	case kMeta:
		return a.tok == b.tok && a.lo == b.lo
	case kAsk:
		return a.lead == b.lead && x.toks[a.lo] == x.toks[b.lo]
	default:
		return a.lead == b.lead && a.trail == b.trail && x.toks[a.tok][a.lo:a.hi] == x.toks[b.tok][b.lo:b.hi]
	}
}

// featureName is the readable name of occurrence i: its kind, then its text
// quoted, e.g. word "free", bigram "call <phone>", chars "_priz", meta "length=3".
func (x *extractor) featureName(i int32) string {
	f := &x.feats[i]
	b := append(x.name[:0], kindNames[f.kind]...)
	b = append(b, ' ')
	switch f.kind {
	case kWord, kCodeWord:
		b = appendQuoted(b, x.toks[f.tok], "", "")
	case kBigram, kCodeBigram:
		b = appendQuoted(b, x.toks[f.tok-1], " ", x.toks[f.tok])
	case kMeta:
		b = appendQuoted(b, metaNames[f.tok], "=", strconv.Itoa(int(f.lo)))
	case kAsk:
		neg := ""
		if f.lead {
			neg = "not "
		}
		b = appendQuoted(b, neg, x.toks[f.lo], " … code")
	default:
		lead, trail := "", ""
		if f.lead {
			lead = "_"
		}
		if f.trail {
			trail = "_"
		}
		b = appendQuoted(b, lead, x.toks[f.tok][f.lo:f.hi], trail)
	}
	x.name = b
	return string(b)
}

// appendQuoted appends strconv.Quote(p+q+r) without concatenating: Quote escapes
// each rune on its own, so the quoted whole is the quoted parts run together.
func appendQuoted(b []byte, p, q, r string) []byte {
	b = append(b, '"')
	for _, s := range [...]string{p, q, r} {
		start := len(b)
		b = strconv.AppendQuote(b, s)
		// Drop the part's own quotes.
		b = append(b[:start], b[start+1:len(b)-1]...)
	}
	return append(b, '"')
}
