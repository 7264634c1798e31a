package model

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// Report is a confusion matrix and its rates at one threshold; spam is the positive
// class. The rates are fractions (0..1); Format prints them as percentages.
type Report struct {
	Spam       int     `json:"spam"`
	Ham        int     `json:"ham"`
	TP         int     `json:"tp"` // spam caught
	FN         int     `json:"fn"` // spam passed
	FP         int     `json:"fp"` // ham blocked
	TN         int     `json:"tn"` // ham passed
	SpamCaught float64 `json:"spam_caught"`
	HamBlocked float64 `json:"ham_blocked"`
	Accuracy   float64 `json:"accuracy"`
	MCC        float64 `json:"mcc"` // Matthews correlation coefficient, -1..1 (0 when undefined)
	Threshold  float64 `json:"threshold"`
}

// Evaluate scores ex with m at m.Threshold.
func Evaluate(m *Model, ex []Example) Report {
	scores := make([]float64, len(ex))
	for i, e := range ex {
		scores[i] = m.Score(e.Text)
	}
	return reportFromScores(ex, scores, m.Threshold)
}

func reportFromScores(ex []Example, scores []float64, threshold float64) Report {
	r := Report{Threshold: threshold}
	for i, e := range ex {
		blocked := scores[i] >= threshold
		switch {
		case e.Spam && blocked:
			r.TP++
		case e.Spam:
			r.FN++
		case blocked:
			r.FP++
		default:
			r.TN++
		}
	}
	r.fill()
	return r
}

// fill derives the totals and rates from the four counts.
func (r *Report) fill() {
	r.Spam, r.Ham = r.TP+r.FN, r.FP+r.TN
	r.SpamCaught = ratio(r.TP, r.Spam)
	r.HamBlocked = ratio(r.FP, r.Ham)
	r.Accuracy = ratio(r.TP+r.TN, r.Spam+r.Ham)
	tp, tn, fp, fn := float64(r.TP), float64(r.TN), float64(r.FP), float64(r.FN)
	if d := (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn); d > 0 {
		r.MCC = (tp*tn - fp*fn) / math.Sqrt(d)
	} else {
		r.MCC = 0
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Format writes the report as a small table.
func (r Report) Format(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "threshold\t%.6f\n", r.Threshold)
	fmt.Fprintf(tw, "messages\t%d\t(spam %d, ham %d)\n", r.Spam+r.Ham, r.Spam, r.Ham)
	fmt.Fprintf(tw, "spam caught\t%d\t%.2f %%\n", r.TP, 100*r.SpamCaught)
	fmt.Fprintf(tw, "spam passed\t%d\t%.2f %%\n", r.FN, 100*ratio(r.FN, r.Spam))
	fmt.Fprintf(tw, "ham blocked\t%d\t%.2f %%\n", r.FP, 100*r.HamBlocked)
	fmt.Fprintf(tw, "ham passed\t%d\t%.2f %%\n", r.TN, 100*ratio(r.TN, r.Ham))
	fmt.Fprintf(tw, "accuracy\t\t%.2f %%\n", 100*r.Accuracy)
	fmt.Fprintf(tw, "MCC\t\t%.4f\n", r.MCC)
	tw.Flush()
}
