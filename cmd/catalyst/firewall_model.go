package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/catalyst-cpaas/catalyst/internal/firewall/model"
)

// defaultFirewallModel is the shipped content model, trained on the training part of
// `catalyst firewall split --test-fraction 0.2 --seed 1` of the SMS spam corpus.
const defaultFirewallModel = "config/firewall-model.json.gz"

// readExamples reads a labelled TSV file (label<TAB>text, ham|spam).
func readExamples(path string) ([]model.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ex, err := model.ReadTSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ex, nil
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

// runFirewallTrain runs `catalyst firewall train --data FILE --out MODEL [--seed N]`.
func runFirewallTrain(args []string, out io.Writer) error {
	fs := newFlagSet(out, "firewall train", `usage: catalyst firewall train --data FILE --out MODEL [flags]

Trains the firewall's content model on a labelled TSV (label<TAB>text, ham|spam) and
reports its out-of-fold figures at the threshold it chose.
`)
	data := fs.String("data", "", "labelled TSV to train on (label<TAB>text, ham|spam)")
	dst := fs.String("out", "", "where to write the model (gzip'd JSON)")
	seed := fs.Int64("seed", 1, "seed for the folds and the SGD shuffles")
	maxHam := fs.Float64("max-ham-blocked", 0, "out-of-fold blocked-ham rate the threshold is chosen for (0: the default, 0.002)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs.FlagSet, "data", "out"); err != nil {
		return err
	}
	ex, err := readExamples(*data)
	if err != nil {
		return fmt.Errorf("firewall train: %w", err)
	}
	m, err := model.Train(ex, model.TrainOptions{Seed: *seed, MaxHamBlocked: *maxHam})
	if err != nil {
		return fmt.Errorf("firewall train: %w", err)
	}
	if err := writeFileAtomic(*dst, m.Save); err != nil {
		return fmt.Errorf("firewall train: write %s: %w", *dst, err)
	}
	t := m.Training
	fmt.Fprintf(out, "trained on %d messages (spam %d, ham %d); %d non-zero weights\n", t.Examples, t.Spam, t.Ham, t.Features)
	fmt.Fprintf(out, "%d-fold out-of-fold figures at the chosen threshold (target ham blocked <= %.2f %%):\n", t.Options.Folds, 100*t.Options.MaxHamBlocked)
	t.OutOfFold.Format(out)
	fmt.Fprintf(out, "wrote %s (version %s, threshold %.6f)\n", *dst, m.Version, m.Threshold)
	return nil
}

// runFirewallEval runs `catalyst firewall eval --data FILE [--model MODEL] [--json]`.
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
	ex, err := readExamples(*data)
	if err != nil {
		return fmt.Errorf("firewall eval: %w", err)
	}
	r := model.Evaluate(m, ex)
	if *asJSON {
		return json.NewEncoder(out).Encode(struct {
			Model   string `json:"model"`
			Version string `json:"version"`
			Data    string `json:"data"`
			model.Report
		}{*path, m.Version, *data, r})
	}
	fmt.Fprintf(out, "model %s (version %s) on %s\n", *path, m.Version, *data)
	r.Format(out)
	return nil
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
	ex, err := readExamples(*data)
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
