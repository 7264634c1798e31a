package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/firewall/model"
)

// defaultFirewallModel is the shipped content model, trained on the training part of
// `catalyst firewall split --test-fraction 0.2 --seed 1` of the SMS spam corpus.
const defaultFirewallModel = "config/firewall-model.json.gz"

// readExamples reads a labelled TSV file (label<TAB>text, ham|spam) and describes
// it for a model's provenance.
func readExamples(path string) ([]model.Example, model.DataSource, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, model.DataSource{}, err
	}
	ex, err := model.ReadTSV(bytes.NewReader(data))
	if err != nil {
		return nil, model.DataSource{}, fmt.Errorf("%s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	src := model.DataSource{Path: path, SHA256: hex.EncodeToString(sum[:])}
	for _, e := range ex {
		if e.Spam {
			src.Spam++
		} else {
			src.Ham++
		}
	}
	return ex, src, nil
}

// writeFileAtomic writes through a temporary file in the same directory and renames
// it, so an interrupted run never leaves half a model or split behind.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file private; a model or a split is meant to be shared.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func required(fs *flag.FlagSet, names ...string) error {
	var missing []error
	for _, n := range names {
		if fs.Lookup(n).Value.String() == "" {
			missing = append(missing, fmt.Errorf("--%s is required", n))
		}
	}
	if err := errors.Join(missing...); err != nil {
		return fmt.Errorf("firewall %s: %w", strings.TrimPrefix(fs.Name(), "firewall "), err)
	}
	return nil
}

// runFirewallTrain runs `catalyst firewall train`. The model records its provenance:
// the files it was trained on, the date (--date, or today by now), and its figures on
// each --held-out file, scored once after training.
func runFirewallTrain(args []string, out io.Writer, now func() time.Time) error {
	fs := newFlagSet(out, "firewall train", `usage: catalyst firewall train --data FILE [--extra FILE] --out MODEL [flags]

Trains the firewall's content model on labelled TSVs (label<TAB>text, ham|spam),
chooses its threshold on the --data files' out-of-fold scores, scores each --held-out
file once and records all of it (files, sha256, counts, date, figures) in the model.
`)
	var data, extra, heldOut fileList
	fs.Var(&data, "data", "labelled TSV to train on and choose the threshold on (label<TAB>text, ham|spam); repeatable")
	fs.Var(&extra, "extra", "labelled TSV to train on but not to choose the threshold on; repeatable")
	fs.Var(&heldOut, "held-out", "labelled TSV not trained on, scored after training and recorded in the model; repeatable")
	dst := fs.String("out", "", "where to write the model (gzip'd JSON)")
	seed := fs.Int64("seed", 1, "seed for the folds and the SGD shuffles")
	maxHam := fs.Float64("max-ham-blocked", 0, "out-of-fold blocked-ham rate the threshold is chosen for (0: the default, 0.002)")
	date := fs.String("date", "", "the training date recorded in the model, YYYY-MM-DD (default today, UTC); fix it for a byte-identical rebuild")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var problems []error
	if len(data) == 0 {
		problems = append(problems, errors.New("--data is required"))
	}
	if *dst == "" {
		problems = append(problems, errors.New("--out is required"))
	}
	day := now().UTC().Format(time.DateOnly)
	if *date != "" {
		t, err := time.Parse(time.DateOnly, *date)
		if err != nil {
			problems = append(problems, fmt.Errorf("--date %q: want YYYY-MM-DD", *date))
		}
		day = t.Format(time.DateOnly)
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("firewall train: %w", err)
	}
	var ex []model.Example
	var prov model.Provenance
	calibration := 0
	trainedOn := map[string]string{} // sha256 → path
	for i, path := range append(append([]string(nil), data...), extra...) {
		part, src, err := readExamples(path)
		if err != nil {
			return fmt.Errorf("firewall train: %w", err)
		}
		if p, ok := trainedOn[src.SHA256]; ok {
			return fmt.Errorf("firewall train: %s is the same data as %s", path, p)
		}
		ex = append(ex, part...)
		if src.Extra = i >= len(data); !src.Extra {
			calibration = len(ex)
		}
		prov.Sources = append(prov.Sources, src)
		trainedOn[src.SHA256] = path
	}
	if len(extra) == 0 {
		calibration = 0 // all of it, as before extra data existed
	}
	held := make([][]model.Example, len(heldOut))
	for i, path := range heldOut {
		part, src, err := readExamples(path)
		if err != nil {
			return fmt.Errorf("firewall train: %w", err)
		}
		if p, ok := trainedOn[src.SHA256]; ok {
			return fmt.Errorf("firewall train: --held-out %s is the same data as %s, which it trains on", path, p)
		}
		held[i] = part
		prov.HeldOut = append(prov.HeldOut, model.Evaluation{Data: src})
	}
	m, err := model.Train(ex, model.TrainOptions{Seed: *seed, MaxHamBlocked: *maxHam, Calibration: calibration})
	if err != nil {
		return fmt.Errorf("firewall train: %w", err)
	}
	for i := range prov.HeldOut {
		prov.HeldOut[i].Report = model.Evaluate(m, held[i])
	}
	prov.TrainedOn = day
	m.Training.Provenance = prov
	if err := writeFileAtomic(*dst, m.Save); err != nil {
		return fmt.Errorf("firewall train: write %s: %w", *dst, err)
	}
	t := m.Training
	fmt.Fprintf(out, "trained on %d messages (spam %d, ham %d); %d non-zero weights\n", t.Examples, t.Spam, t.Ham, t.Features)
	fmt.Fprintf(out, "%d-fold out-of-fold figures at the chosen threshold (target ham blocked <= %.2f %%):\n", t.Options.Folds, 100*t.Options.MaxHamBlocked)
	t.OutOfFold.Format(out)
	if t.OutOfFoldExtra != nil {
		fmt.Fprintf(out, "out-of-fold figures of the extra data at that threshold:\n")
		t.OutOfFoldExtra.Format(out)
	}
	for _, e := range t.HeldOut {
		fmt.Fprintf(out, "held out %s:\n", e.Data.Path)
		e.Report.Format(out)
	}
	fmt.Fprintf(out, "wrote %s (version %s, threshold %.6f)\n", *dst, m.Version, m.Threshold)
	return nil
}

// runFirewallEval runs `catalyst firewall eval --data FILE [--model MODEL] [--json]`:
// the model's provenance, then its figures on FILE.
func runFirewallEval(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(out)
	data := fs.String("data", "", "labelled TSV to evaluate on (label<TAB>text, ham|spam)")
	path := fs.String("model", defaultFirewallModel, "the model file")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "data", "model"); err != nil {
		return err
	}
	m, err := model.Load(*path)
	if err != nil {
		return fmt.Errorf("firewall eval: %w", err)
	}
	ex, src, err := readExamples(*data)
	if err != nil {
		return fmt.Errorf("firewall eval: %w", err)
	}
	r := model.Evaluate(m, ex)
	if *asJSON {
		return json.NewEncoder(out).Encode(struct {
			Model    string             `json:"model"`
			Version  string             `json:"version"`
			Training model.TrainingInfo `json:"training"`
			Data     model.DataSource   `json:"data"`
			model.Report
		}{*path, m.Version, m.Training, src, r})
	}
	fmt.Fprintf(out, "model %s (version %s)\n", *path, m.Version)
	formatProvenance(out, m.Training)
	fmt.Fprintf(out, "evaluated on %s (sha256 %.12s…)\n", *data, src.SHA256)
	r.Format(out)
	return nil
}

// formatProvenance prints where a model came from, as recorded when it was trained.
func formatProvenance(out io.Writer, t model.TrainingInfo) {
	if t.TrainedOn == "" && len(t.Sources) == 0 {
		fmt.Fprintf(out, "  provenance: not recorded (trained before models kept it) on %d messages (spam %d, ham %d)\n", t.Examples, t.Spam, t.Ham)
	} else {
		fmt.Fprintf(out, "  trained %s on %d messages (spam %d, ham %d), seed %d:\n", t.TrainedOn, t.Examples, t.Spam, t.Ham, t.Options.Seed)
		for _, s := range t.Sources {
			role := "data "
			if s.Extra {
				role = "extra"
			}
			fmt.Fprintf(out, "    %s %s  spam %d, ham %d  sha256 %.12s…\n", role, s.Path, s.Spam, s.Ham, s.SHA256)
		}
	}
	o := t.OutOfFold
	fmt.Fprintf(out, "  %d-fold out-of-fold (threshold chosen on it): spam caught %.2f %% (%d/%d), ham blocked %.2f %% (%d/%d)\n",
		t.Options.Folds, 100*o.SpamCaught, o.TP, o.Spam, 100*o.HamBlocked, o.FP, o.Ham)
	if o := t.OutOfFoldExtra; o != nil {
		fmt.Fprintf(out, "  %d-fold out-of-fold, extra data: spam caught %.2f %% (%d/%d), ham blocked %.2f %% (%d/%d)\n",
			t.Options.Folds, 100*o.SpamCaught, o.TP, o.Spam, 100*o.HamBlocked, o.FP, o.Ham)
	}
	for _, e := range t.HeldOut {
		r := e.Report
		fmt.Fprintf(out, "  held out %s (sha256 %.12s…): spam caught %.2f %% (%d/%d), ham blocked %.2f %% (%d/%d)\n",
			e.Data.Path, e.Data.SHA256, 100*r.SpamCaught, r.TP, r.Spam, 100*r.HamBlocked, r.FP, r.Ham)
	}
}

// runFirewallSplit runs `catalyst firewall split --data FILE --train OUT --test OUT
// [--test-fraction 0.2] [--seed 1]`: a stratified, reproducible held-out split.
func runFirewallSplit(args []string, out io.Writer) error {
	fs := newFlagSet(out, "firewall split", `usage: catalyst firewall split --data FILE --train OUT --test OUT [flags]

Splits a labelled TSV into a training and a held-out part, stratified by label and
reproducible with --seed.
`)
	data := fs.String("data", "", "labelled TSV to split")
	trainOut := fs.String("train", "", "where to write the training part")
	testOut := fs.String("test", "", "where to write the held-out part")
	frac := fs.Float64("test-fraction", 0.2, "share of each label held out, in (0, 1)")
	seed := fs.Int64("seed", 1, "seed of the split")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs.FlagSet, "data", "train", "test"); err != nil {
		return err
	}
	if *frac <= 0 || *frac >= 1 {
		return fmt.Errorf("firewall split: --test-fraction %v must be in (0, 1)", *frac)
	}
	ex, _, err := readExamples(*data)
	if err != nil {
		return fmt.Errorf("firewall split: %w", err)
	}
	train, test := model.Split(ex, *frac, *seed)
	for _, part := range []struct {
		path string
		ex   []model.Example
	}{{*trainOut, train}, {*testOut, test}} {
		err := writeFileAtomic(part.path, func(w io.Writer) error { return model.WriteTSV(w, part.ex) })
		if err != nil {
			return fmt.Errorf("firewall split: write %s: %w", part.path, err)
		}
	}
	fmt.Fprintf(out, "train %s: %d messages (spam %d); test %s: %d messages (spam %d)\n",
		*trainOut, len(train), countSpam(train), *testOut, len(test), countSpam(test))
	return nil
}

func countSpam(ex []model.Example) int {
	n := 0
	for _, e := range ex {
		if e.Spam {
			n++
		}
	}
	return n
}
