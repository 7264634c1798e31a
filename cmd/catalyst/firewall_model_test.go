package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/firewall/model"
)

// Training records where the model came from, eval prints it, and a fixed --date
// makes a rebuild byte-identical whatever the clock says.
func TestFirewallTrainProvenance(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	corpus := filepath.Join(repoDir, "internal/firewall/model/testdata/synthetic.tsv")
	var out bytes.Buffer
	for _, args := range [][]string{
		{"--data", corpus, "--train", p("rest.tsv"), "--test", p("held.tsv"), "--test-fraction", "0.25"},
		{"--data", p("rest.tsv"), "--train", p("main.tsv"), "--test", p("extra.tsv"), "--test-fraction", "0.3"},
	} {
		if err := runFirewallSplit(args, &out); err != nil {
			t.Fatal(err)
		}
	}
	train := func(dst string, now time.Time, extra ...string) error {
		args := append([]string{"--data", p("main.tsv"), "--extra", p("extra.tsv"), "--held-out", p("held.tsv"), "--out", dst}, extra...)
		return runFirewallTrain(args, &out, func() time.Time { return now })
	}
	if err := train(p("a.gz"), time.Date(2026, 12, 8, 23, 30, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(p("a.gz"))
	if err != nil {
		t.Fatal(err)
	}
	tr := m.Training
	if tr.TrainedOn != "2026-12-08" || len(tr.Sources) != 2 || tr.Sources[0].Extra || !tr.Sources[1].Extra ||
		len(tr.HeldOut) != 1 || tr.HeldOut[0].Data.Path != p("held.tsv") || tr.OutOfFoldExtra == nil {
		t.Fatalf("provenance %+v", tr.Provenance)
	}
	if got := tr.Sources[0].Spam + tr.Sources[0].Ham; got != tr.OutOfFold.Spam+tr.OutOfFold.Ham {
		t.Errorf("threshold chosen on %d messages, the --data file has %d", tr.OutOfFold.Spam+tr.OutOfFold.Ham, got)
	}
	if r := tr.HeldOut[0].Report; r.Spam+r.Ham != 50 || len(tr.Sources[0].SHA256) != 64 {
		t.Errorf("held out %+v, sources %+v", r, tr.Sources)
	}

	// Another day's clock with --date: the same bytes.
	if err := train(p("b.gz"), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), "--date", "2026-12-08"); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(p("a.gz"))
	b, _ := os.ReadFile(p("b.gz"))
	if !bytes.Equal(a, b) {
		t.Error("the same data, seed and date gave different model files")
	}

	out.Reset()
	if err := runFirewallEval([]string{"--data", p("held.tsv"), "--model", p("a.gz")}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"trained 2026-12-08 on", "data  " + p("main.tsv"), "extra " + p("extra.tsv"), "held out " + p("held.tsv"), "spam caught"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("eval output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := runFirewallEval([]string{"--data", p("held.tsv"), "--model", p("a.gz"), "--json"}, &out); err != nil {
		t.Fatal(err)
	}
	var js struct {
		Training model.TrainingInfo `json:"training"`
	}
	if err := json.Unmarshal(out.Bytes(), &js); err != nil || js.Training.TrainedOn != "2026-12-08" {
		t.Errorf("eval --json: %v %s", err, out.String())
	}

	// A model saved without provenance (as before it was recorded) says so.
	bare, err := model.Train(mustExamples(t, p("main.tsv")), model.TrainOptions{Seed: 1, Bits: 12})
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(p("bare.gz"), bare.Save); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runFirewallEval([]string{"--data", p("held.tsv"), "--model", p("bare.gz")}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "provenance: not recorded") {
		t.Errorf("eval of a model without provenance:\n%s", out.String())
	}

	// Bad input names the flag; nothing is written.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--date", "08/12/2026"}, "--date"},
		{[]string{"--held-out", p("main.tsv")}, "same data"},
	} {
		err := train(p("c.gz"), time.Now(), c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error naming %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(p("c.gz")); !os.IsNotExist(err) {
		t.Errorf("a failed train left %s: %v", p("c.gz"), err)
	}
}

func mustExamples(t *testing.T, path string) []model.Example {
	t.Helper()
	ex, _, err := readExamples(path)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}
