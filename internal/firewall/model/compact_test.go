package model

import (
	"math/rand/v2"
	"testing"
)

// The compact index gives every bucket's weight exactly as the dense table has it.
func TestCompactMatchesDense(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, fill := range []float64{0, 0.01, 0.5, 1} {
		dense := make([]float32, 1<<12)
		for i := range dense {
			if rng.Float64() < fill {
				dense[i] = float32(rng.NormFloat64())
			}
		}
		c := newCompact(dense)
		for b := range dense {
			if got := c.weight(uint32(b)); got != dense[b] {
				t.Fatalf("fill %v: bucket %d = %v, want %v", fill, b, got, dense[b])
			}
		}
	}
	m := loadShipped(t)
	for b, w := range m.weights {
		if m.hot.weight(uint32(b)) != w {
			t.Fatalf("shipped model: bucket %d differs", b)
		}
	}
}
