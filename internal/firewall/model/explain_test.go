package model

import (
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
)

// explainTexts are the messages Explain is checked on: the synthetic corpus, the
// SMS corpus when present, and edge cases (case, Unicode, invalid UTF-8, repeats,
// over-long words, nothing at all).
func explainTexts(t testing.TB) []string {
	t.Helper()
	var texts []string
	for _, e := range readSynthetic(t) {
		texts = append(texts, e.Text)
	}
	for _, path := range []string{otpEval, "testdata/otp-train.tsv"} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		ex, err := ReadTSV(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ex {
			texts = append(texts, e.Text)
		}
	}
	if f, err := os.Open(smsCorpus); err == nil {
		ex, err := ReadTSV(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ex {
			texts = append(texts, e.Text)
		}
	} else {
		t.Logf("SMS corpus not present: %v", err)
	}
	return append(texts,
		"", "   ", "!!!", "a", "FREE FREE free FrEe entry", "win win win win £1000 CASH cash",
		"Grüße aus MÜNCHEN, ΣΟΦΙΑ", "bad \xff\xfe bytes \xc3 HERE", "İSTANBUL ǅ ﬃ",
		strings.Repeat("Supercalifragilistic", 5)+" and again "+strings.Repeat("supercalifragilistic", 4),
		"call 09061701461 or www.win.com or x@y.net now!!!", `quote " and \ back`,
	)
}

func TestAppendLowerMatchesToLower(t *testing.T) {
	t.Parallel()
	for _, s := range explainTexts(t) {
		if got, want := string(appendLower(nil, s)), strings.ToLower(s); got != want {
			t.Errorf("appendLower(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestExplainMatchesReference checks Explain, Score's features and Score itself
// against the reference (eager naming) implementation, with the shipped model and
// one trained here.
func TestExplainMatchesReference(t *testing.T) {
	t.Parallel()
	trained, _ := trainSynthetic(t)
	texts := explainTexts(t)
	for name, m := range map[string]*Model{"shipped": loadShipped(t), "trained": trained} {
		x := &extractor{}
		for _, text := range texts {
			refHashes, _ := refFeatures(text, m.feat)
			x.reset(false)
			x.extract(text, m.feat)
			if !reflect.DeepEqual(x.hashes, refHashes) && len(x.hashes)+len(refHashes) > 0 {
				t.Fatalf("%s: features of %q differ from the reference", name, text)
			}
			if got, want := m.Score(text), sigmoid(m.margin(refHashes)); got != want {
				t.Fatalf("%s: Score(%q) = %v, reference %v", name, text, got, want)
			}
			for _, k := range []int{1, 3, 5, 1000} {
				if got, want := m.Explain(text, k), refExplain(m, text, k); !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: Explain(%q, %d) =\n%+v\nreference\n%+v", name, text, k, got, want)
				}
			}
		}
	}
}

// TestExplainHashCollision: "hoczf" and "rfbpp" hash alike as words; Explain must
// keep them apart as the names do, and break the resulting ties by first occurrence.
func TestExplainHashCollision(t *testing.T) {
	t.Parallel()
	o := featureOpts{CharMin: 2, CharMax: 3}
	h1, _ := refFeatures("hoczf", o)
	h2, _ := refFeatures("rfbpp", o)
	if h1[2] != h2[2] { // after the length and digit-ratio meta features
		t.Fatalf("word hashes %x and %x no longer collide", h1[2], h2[2])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, constant := range []bool{true, false} {
		m := &Model{bits: 10, weights: make([]float32, 1<<10), feat: o}
		for i := range m.weights {
			m.weights[i] = 1
			if !constant {
				m.weights[i] = float32(rng.NormFloat64())
			}
		}
		m.weights[h1[2]&(1<<10-1)] = 5
		m.hot = newCompact(m.weights)
		for _, text := range []string{"hoczf rfbpp", "rfbpp hoczf hoczf", "x hoczf y rfbpp rfbpp z"} {
			for _, k := range []int{1, 2, 3, 50} {
				got, want := m.Explain(text, k), refExplain(m, text, k)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Explain(%q, %d) =\n%+v\nreference\n%+v", text, k, got, want)
				}
			}
		}
	}
}

func TestScoreAndExplainAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	m := loadShipped(t)
	for _, text := range []string{
		"URGENT! You have WON a £1000 prize. Call 09061701461 NOW to claim, T&C www.win.com",
		"Grüße aus MÜNCHEN, bis BALD",
	} {
		if n := testing.AllocsPerRun(200, func() { m.Score(text) }); n != 0 {
			t.Errorf("Score(%q) allocates %v times, want 0", text, n)
		}
		const k = 3
		if got := len(m.Explain(text, k)); got != k {
			t.Fatalf("Explain(%q) gave %d features, want %d", text, got, k)
		}
		// The result and its k names.
		if n := testing.AllocsPerRun(200, func() { m.Explain(text, k) }); n > k+1 {
			t.Errorf("Explain(%q, %d) allocates %v times, want at most %d", text, k, n, k+1)
		}
	}
}
