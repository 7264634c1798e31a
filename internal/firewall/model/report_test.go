package model

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestReportHandComputed(t *testing.T) {
	t.Parallel()
	// 4 spam (3 at or above 0.5), 6 ham (1 above): TP 3, FN 1, FP 1, TN 5.
	ex := []Example{{Spam: true}, {Spam: true}, {Spam: true}, {Spam: true}, {}, {}, {}, {}, {}, {}}
	scores := []float64{0.9, 0.5, 0.7, 0.2, 0.8, 0.1, 0.49, 0.3, 0.0, 0.2}
	r := reportFromScores(ex, scores, 0.5)
	want := Report{Spam: 4, Ham: 6, TP: 3, FN: 1, FP: 1, TN: 5, SpamCaught: 0.75, HamBlocked: 1.0 / 6, Accuracy: 0.8, Threshold: 0.5,
		MCC: (3*5 - 1*1) / math.Sqrt(4*4*6*6)} // 14/24
	if math.Abs(r.MCC-14.0/24) > 1e-12 {
		t.Errorf("MCC %v, want %v", r.MCC, 14.0/24)
	}
	r.MCC, want.MCC = 0, 0
	if r != want {
		t.Errorf("report %+v, want %+v", r, want)
	}
	// Undefined MCC (no spam at all) is 0, not NaN.
	if r := reportFromScores(ex[4:], scores[4:], 0.5); r.MCC != 0 || r.SpamCaught != 0 {
		t.Errorf("no spam: %+v", r)
	}
	var buf bytes.Buffer
	reportFromScores(ex, scores, 0.5).Format(&buf)
	for _, line := range []string{"spam caught  3", "75.00 %", "ham blocked  1", "16.67 %", "accuracy", "80.00 %", "MCC", "0.5833"} {
		if !strings.Contains(buf.String(), line) {
			t.Errorf("Format lacks %q:\n%s", line, buf.String())
		}
	}
}

func TestEvaluateAtThreshold(t *testing.T) {
	t.Parallel()
	m, test := trainSynthetic(t)
	r := Evaluate(m, test)
	var tp, fp int
	for _, e := range test {
		if m.Spam(e.Text) {
			if e.Spam {
				tp++
			} else {
				fp++
			}
		}
	}
	if r.TP != tp || r.FP != fp || r.Threshold != m.Threshold || r.Spam+r.Ham != len(test) {
		t.Errorf("report %+v; counted TP %d FP %d", r, tp, fp)
	}
	// A threshold above every score blocks nothing.
	m.Threshold = 1.1
	if r := Evaluate(m, test); r.TP != 0 || r.FP != 0 || r.TN != r.Ham {
		t.Errorf("threshold 1.1: %+v", r)
	}
}
