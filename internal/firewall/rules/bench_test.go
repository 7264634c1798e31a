package rules

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// benchSet is the shipped rule file plus one rule, so the benchmark measures the
// rules operators actually run: 20 of them, 12 with conditions.
func benchSet(b *testing.B) *Set {
	b.Helper()
	data, err := os.ReadFile(shippedPath)
	if err != nil {
		b.Fatal(err)
	}
	data = append(data, "\n- {name: gb-evening-links, match: {countries: [GB], condition: \"hour >= 22 && url_count > 0\"}, action: score}\n"...)
	s, err := Parse(data)
	if err != nil {
		b.Fatalf("%v %+v", err, fields(err))
	}
	if len(s.Rules) != 20 {
		b.Fatalf("%d rules, want 20", len(s.Rules))
	}
	return s
}

func BenchmarkEvaluate(b *testing.B) {
	s := benchSet(b)
	clean := cleanFeatures()
	phishing := cleanFeatures()
	phishing.Keywords = []string{"verify account"}
	for _, bc := range []struct {
		name string
		f    *firewall.Features
		hits int
	}{
		{"none-match", &clean, 0},
		{"one-matches", &phishing, 1},
	} {
		if got := len(s.Evaluate("sms", bc.f)); got != bc.hits {
			b.Fatalf("%s: %d hits, want %d", bc.name, got, bc.hits)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime(b)
			for b.Loop() {
				s.Evaluate("sms", bc.f)
			}
			// On a shared machine ns/op counts the time other processes held the
			// CPU; the process's own CPU time per evaluation does not.
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
