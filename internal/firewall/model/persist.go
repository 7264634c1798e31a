package model

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

const fileFormat = 1

// file is the saved form: the non-zero weights as ascending bucket indexes
// (delta-encoded, which compresses well) and float32 values.
type file struct {
	Format    int          `json:"format"`
	Version   string       `json:"version,omitempty"`
	Threshold float64      `json:"threshold"`
	Bias      float64      `json:"bias"`
	Bits      uint         `json:"bits"`
	Features  featureOpts  `json:"features"`
	Training  TrainingInfo `json:"training"`
	Delta     []uint32     `json:"index_delta"`
	Weight    []float32    `json:"weight"`
}

// content is the JSON the version is a hash of (the file without its version).
func (f file) content() ([]byte, error) {
	f.Version = ""
	return json.Marshal(f)
}

func versionOf(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:6])
}

// Save writes m as gzip'd JSON and sets m.Version to the short sha256 of its content.
func (m *Model) Save(w io.Writer) error {
	f := file{Format: fileFormat, Threshold: m.Threshold, Bias: m.bias, Bits: m.bits, Features: m.feat, Training: m.Training}
	prev := 0
	for i, v := range m.weights {
		if v != 0 {
			f.Delta = append(f.Delta, uint32(i-prev))
			f.Weight = append(f.Weight, v)
			prev = i
		}
	}
	content, err := f.content()
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	f.Version = versionOf(content)
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if _, err := zw.Write(data); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	m.Version = f.Version
	return nil
}

// maxModelBytes bounds the decompressed model (a 2^26-bucket table of float32s).
const maxModelBytes = 1 << 30

// Decode reads a model written by Save, checking its version against its content.
func Decode(r io.Reader) (*Model, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "decode model: not gzip")
	}
	data, err := io.ReadAll(io.LimitReader(zr, maxModelBytes+1))
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "decode model")
	}
	if len(data) > maxModelBytes {
		return nil, errs.E(errs.TooLarge, "decode model: more than %d bytes", maxModelBytes)
	}
	var f file
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "decode model")
	}
	switch {
	case f.Format != fileFormat:
		return nil, errs.E(errs.Invalid, "decode model: format %d, want %d", f.Format, fileFormat)
	case f.Bits < 8 || f.Bits > 26:
		return nil, errs.E(errs.Invalid, "decode model: bits %d out of [8, 26]", f.Bits)
	case len(f.Delta) != len(f.Weight):
		return nil, errs.E(errs.Invalid, "decode model: %d indexes but %d weights", len(f.Delta), len(f.Weight))
	case f.Features.CharMin < 1 || f.Features.CharMax < f.Features.CharMin || f.Features.CharMax > 8:
		return nil, errs.E(errs.Invalid, "decode model: bad character n-gram range %d..%d", f.Features.CharMin, f.Features.CharMax)
	case f.Features.Tokens < 0 || f.Features.Tokens > tokensLatest:
		return nil, errs.E(errs.Invalid, "decode model: tokeniser revision %d, this build knows 0..%d", f.Features.Tokens, tokensLatest)
	}
	content, err := f.content()
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "decode model")
	}
	if v := versionOf(content); v != f.Version {
		return nil, errs.E(errs.Invalid, "decode model: version %q does not match its content (%s): edited or corrupt", f.Version, v)
	}
	m := &Model{Version: f.Version, Threshold: f.Threshold, Training: f.Training, bits: f.Bits, bias: f.Bias, feat: f.Features, weights: make([]float32, 1<<f.Bits)}
	at := 0
	for i, d := range f.Delta {
		at += int(d)
		if at >= len(m.weights) || (i > 0 && d == 0) {
			return nil, errs.E(errs.Invalid, "decode model: weight %d: index out of order or range", i)
		}
		m.weights[at] = f.Weight[i]
	}
	m.hot = newCompact(m.weights)
	return m, nil
}

// Load reads a model file written by Save.
func Load(path string) (*Model, error) {
	fh, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, errs.Wrap(errs.NotFound, err, "load model %s", path)
		}
		return nil, errs.Wrap(errs.Unavailable, err, "load model %s", path)
	}
	defer fh.Close()
	m, err := Decode(fh)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return m, nil
}
