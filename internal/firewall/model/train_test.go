package model

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

func trainSynthetic(t testing.TB) (m *Model, test []Example) {
	t.Helper()
	train, test := Split(readSynthetic(t), 0.25, 3)
	m, err := Train(train, TrainOptions{Seed: 1, Bits: 16, MaxHamBlocked: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	return m, test
}

func TestTrainSeparatesSynthetic(t *testing.T) {
	t.Parallel()
	m, test := trainSynthetic(t)
	r := Evaluate(m, test)
	if r.Spam != 15 || r.Ham != 35 {
		t.Fatalf("held-out part: %d spam, %d ham", r.Spam, r.Ham)
	}
	if r.SpamCaught < 0.9 || r.FP != 0 {
		t.Errorf("held-out synthetic: caught %.2f, ham blocked %d", r.SpamCaught, r.FP)
	}
	oof := m.Training.OutOfFold
	if oof.Spam+oof.Ham != m.Training.Examples || oof.HamBlocked > 0.01 {
		t.Errorf("out-of-fold report %+v", oof)
	}
	spam := m.Score("CONGRATULATIONS! You have won a camera. Call 09061701461 now to claim")
	ham := m.Score("are we still meeting at the pub tonight?")
	if spam < 0.5 || ham > 0.5 || spam <= ham {
		t.Errorf("spam scores %.3f, ham %.3f", spam, ham)
	}
	if !m.Spam("URGENT: your bank account has a £5000 bonus waiting. Text CLAIM to 87121 now") {
		t.Error("an obvious spam is not Spam at the threshold")
	}
}

func TestTrainDeterministic(t *testing.T) {
	t.Parallel()
	save := func(seed int64) []byte {
		m, err := Train(readSynthetic(t), TrainOptions{Seed: seed, Bits: 14})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := m.Save(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a, b, c := save(7), save(7), save(8)
	if !bytes.Equal(a, b) {
		t.Error("the same seed gave different model files")
	}
	if bytes.Equal(a, c) {
		t.Error("seeds 7 and 8 gave the same model file")
	}
}

func TestTrainRejects(t *testing.T) {
	t.Parallel()
	ex := readSynthetic(t)
	cases := []struct {
		name string
		ex   []Example
		opt  TrainOptions
		want string
	}{
		{"too few spam", append([]Example{{Spam: true, Text: "win"}}, ex[:0]...), TrainOptions{}, "at least 5 spam"},
		{"bad options", ex, TrainOptions{Folds: 1, Bits: 30, MaxHamBlocked: 1}, "invalid training options"},
	}
	for _, c := range cases {
		_, err := Train(c.ex, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) || errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%s: error %v, want invalid %q", c.name, err, c.want)
		}
	}
	_, err := Train(ex, TrainOptions{Folds: 1, Bits: 30, MaxHamBlocked: 1})
	if e, ok := err.(*errs.Error); !ok || len(e.Fields) != 3 {
		t.Errorf("want three field violations, got %v", err)
	}
}

func TestChooseThreshold(t *testing.T) {
	t.Parallel()
	ex := make([]Example, 0, 1000)
	scores := make([]float64, 0, 1000)
	for i := 0; i < 1000; i++ {
		ex = append(ex, Example{})
		scores = append(scores, float64(i)/1000) // ham scores 0 … 0.999
	}
	// 0.2 % of 1000 ham: 2 may be blocked (0.999, 0.998); the threshold lies
	// between 0.997 and 0.998.
	th := chooseThreshold(ex, scores, 0.002)
	if !(th > 0.997 && th <= 0.998) {
		t.Errorf("threshold %v, want in (0.997, 0.998]", th)
	}
	if r := reportFromScores(ex, scores, th); r.FP != 2 {
		t.Errorf("%d ham blocked at the threshold, want 2", r.FP)
	}
	// None allowed: just above the highest ham.
	if th := chooseThreshold(ex, scores, 0); !(th > 0.999) || th > 0.9991 {
		t.Errorf("threshold %v, want just above 0.999", th)
	}
	// Ties at the boundary are all kept below the threshold.
	tied := []float64{0.1, 0.9, 0.9, 0.9}
	if r := reportFromScores(ex[:4], tied, chooseThreshold(ex[:4], tied, 0.5)); r.FP != 0 {
		t.Errorf("a tie at the boundary: %d blocked, want 0", r.FP)
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	m, _ := trainSynthetic(t)
	text := "CONGRATULATIONS! You have won a holiday to Spain. Call 09061701461 now to claim"
	got := m.Explain(text, 5)
	if len(got) != 5 {
		t.Fatalf("Explain gave %d contributions, want 5: %+v", len(got), got)
	}
	for i, c := range got {
		if c.Weight <= 0 || (i > 0 && c.Weight > got[i-1].Weight) || c.Feature == "" || strings.HasPrefix(c.Feature, kindLetter) {
			t.Errorf("contribution %d %+v: want positive weights, strongest first", i, c)
		}
	}
	if m.Explain(text, 0) != nil {
		t.Error("k=0 should give nothing")
	}
}

func TestScoreConcurrent(t *testing.T) {
	t.Parallel()
	m, test := trainSynthetic(t)
	want := make([]float64, len(test))
	for i, e := range test {
		want[i] = m.Score(e.Text)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, e := range test {
				if got := m.Score(e.Text); got != want[i] {
					t.Errorf("concurrent Score(%q) = %v, want %v", e.Text, got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}
