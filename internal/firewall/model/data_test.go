package model

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// readSynthetic reads testdata/synthetic.tsv: 200 templated messages (60 spam)
// written for these tests, so training and evaluation are tested without the
// real corpus.
func readSynthetic(t testing.TB) []Example {
	t.Helper()
	f, err := os.Open("testdata/synthetic.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ex, err := ReadTSV(f)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func TestReadTSV(t *testing.T) {
	t.Parallel()
	got, err := ReadTSV(strings.NewReader("label\ttext\r\nham\thi there\r\n\nspam\tWIN\tnow\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{{Spam: false, Text: "hi there"}, {Spam: true, Text: "WIN\tnow"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestReadTSVErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"", "line 1: empty input"},
		{"ham\thello\n", "line 1: want the header"},
		{"label\ttext\nham\tok\nspam no tab\n", "line 3: no tab"},
		{"label\ttext\nham\tok\n\nSPAM\tx\n", `line 4: label "SPAM" is neither ham nor spam`},
	}
	for _, c := range cases {
		_, err := ReadTSV(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadTSV(%q) error %v, want one containing %q", c.in, err, c.want)
		}
		if errs.CodeOf(err) != errs.Invalid {
			t.Errorf("ReadTSV(%q) code %q, want invalid", c.in, errs.CodeOf(err))
		}
	}
}

func TestWriteTSVRoundTrip(t *testing.T) {
	t.Parallel()
	ex := readSynthetic(t)
	var buf bytes.Buffer
	if err := WriteTSV(&buf, ex); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, ex) {
		t.Errorf("round trip changed the examples")
	}
	err = WriteTSV(&bytes.Buffer{}, []Example{{Text: "two\nlines"}})
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid {
		t.Errorf("a text with a newline: error %v, want invalid", err)
	}
}

func countLabels(ex []Example) (spam, ham int) {
	for _, e := range ex {
		if e.Spam {
			spam++
		} else {
			ham++
		}
	}
	return spam, ham
}

func TestSplit(t *testing.T) {
	t.Parallel()
	ex := readSynthetic(t)
	train, test := Split(ex, 0.2, 1)
	if len(train)+len(test) != len(ex) {
		t.Fatalf("%d + %d != %d", len(train), len(test), len(ex))
	}
	spam, ham := countLabels(ex)
	tSpam, tHam := countLabels(test)
	if tSpam != 12 || tHam != 28 { // round(0.2 × 60), round(0.2 × 140)
		t.Errorf("test part has %d spam and %d ham, want 12 and 28 (of %d, %d)", tSpam, tHam, spam, ham)
	}
	// Deterministic for a seed, different for another.
	train2, test2 := Split(ex, 0.2, 1)
	if !reflect.DeepEqual(train, train2) || !reflect.DeepEqual(test, test2) {
		t.Error("the same seed gave a different split")
	}
	_, test3 := Split(ex, 0.2, 2)
	if reflect.DeepEqual(test, test3) {
		t.Error("seeds 1 and 2 gave the same split")
	}
	// Both parts keep the input order: each is a subsequence of ex.
	for _, part := range [][]Example{train, test} {
		j := 0
		for _, e := range ex {
			if j < len(part) && e == part[j] {
				j++
			}
		}
		if j != len(part) {
			t.Error("a part is not in input order")
		}
	}
	if tr, te := Split(ex, 0, 1); len(tr) != len(ex) || len(te) != 0 {
		t.Errorf("fraction 0: %d/%d", len(tr), len(te))
	}
}
