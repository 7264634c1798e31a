package model

import "math/bits"

// compact is the model's weights as the hot path reads them: a bitmap of the
// buckets that hold a weight (most are pruned to zero), a running count per 64
// buckets, and the kept weights packed in bucket order. The dense table is 4 MB
// (2^20 float32), and a message touches a few hundred random buckets of it: in the
// firewall, next to the DPI automaton, nearly every one was a cache miss. This
// index is under half a megabyte for the shipped model and gives the same weights.
type compact struct {
	present []uint64  // bit b of word w: bucket 64w+b has a weight
	rank    []uint32  // kept weights before word w
	packed  []float32 // the kept weights, by bucket
}

func newCompact(dense []float32) compact {
	words := (len(dense) + 63) / 64
	c := compact{present: make([]uint64, words), rank: make([]uint32, words)}
	for i, w := range dense {
		if w != 0 {
			c.present[i/64] |= 1 << (i % 64)
			c.packed = append(c.packed, w)
		}
	}
	n := uint32(0)
	for i, word := range c.present {
		c.rank[i] = n
		n += uint32(bits.OnesCount64(word))
	}
	return c
}

// weight is bucket b's weight (b already masked to the table's size).
func (c *compact) weight(b uint32) float32 {
	word, bit := b/64, b%64
	w := c.present[word]
	if w&(1<<bit) == 0 {
		return 0
	}
	return c.packed[c.rank[word]+uint32(bits.OnesCount64(w&(1<<bit-1)))]
}
