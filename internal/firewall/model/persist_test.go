package model

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

func TestSaveDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	m, test := trainSynthetic(t)
	m.Training.Provenance = Provenance{TrainedOn: "2026-12-08",
		Sources: []DataSource{{Path: "train.tsv", SHA256: strings.Repeat("ab", 32), Spam: 40, Ham: 120}},
		HeldOut: []Evaluation{{Data: DataSource{Path: "test.tsv", SHA256: strings.Repeat("cd", 32), Spam: 10, Ham: 30}, Report: Evaluate(m, test)}}}
	path := filepath.Join(t.TempDir(), "m.json.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if len(m.Version) != 12 {
		t.Errorf("version %q, want 12 hex digits", m.Version)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != m.Version || back.Threshold != m.Threshold || !reflect.DeepEqual(back.Training, m.Training) {
		t.Errorf("decoded header %q %v %+v, want %q %v %+v", back.Version, back.Threshold, back.Training, m.Version, m.Threshold, m.Training)
	}
	for _, e := range test {
		if a, b := m.Score(e.Text), back.Score(e.Text); a != b {
			t.Errorf("Score(%q): %v before saving, %v after", e.Text, a, b)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.gz")); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("a missing file: %v, want not_found", err)
	}
}

// rewrite decodes a saved model's JSON, applies edit and re-gzips it.
func rewrite(t *testing.T, saved []byte, edit func(map[string]any)) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(saved))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	raw, _ = json.Marshal(doc)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	return buf.Bytes()
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	m, _ := trainSynthetic(t)
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	saved := buf.Bytes()
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"not gzip", []byte("{}"), "not gzip"},
		{"edited threshold", rewrite(t, saved, func(d map[string]any) { d["threshold"] = 0.01 }), "does not match its content"},
		{"format", rewrite(t, saved, func(d map[string]any) { d["format"] = 2 }), "format 2"},
		{"bits", rewrite(t, saved, func(d map[string]any) { d["bits"] = 40 }), "bits 40"},
		{"unknown field", rewrite(t, saved, func(d map[string]any) { d["extra"] = 1 }), "unknown field"},
		{"lengths", rewrite(t, saved, func(d map[string]any) { d["weight"] = []float64{1} }), "indexes but 1 weights"},
	}
	for _, c := range cases {
		_, err := Decode(bytes.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) || errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%s: error %v, want invalid %q", c.name, err, c.want)
		}
	}
}
