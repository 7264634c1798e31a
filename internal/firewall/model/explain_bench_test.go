package model

import "testing"

// BenchmarkExplain explains the synthetic corpus's messages with the shipped model,
// k=3 as the firewall asks.
func BenchmarkExplain(b *testing.B) {
	m := loadShipped(b)
	ex := readSynthetic(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Explain(ex[i%len(ex)].Text, 3)
	}
}
