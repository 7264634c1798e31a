// Package model is the SMS firewall's trained content model: a spam probability for
// a message's text, with the operating threshold the fraud phase acts on and an
// explanation of which features pushed it there.
//
// The model is an L2-regularised logistic regression over hashed sparse features:
// word unigrams and bigrams of a normalised token stream (URLs, e-mail addresses,
// money amounts, phone numbers, short codes and one-time codes become class tokens;
// a message about a code also gets its own copies of them, numbers.go), character
// n-grams inside words (robust to the misspellings and abbreviations of SMS), and
// bucketed meta features (length, digit and capital ratios, exclamation marks). It
// is trained with AdaGrad SGD, deterministically from a seed. It is written here
// rather than taken from a library because Go has no well-maintained ML library for
// this, and the whole of it (features, training, inference) is a few hundred lines
// that are easy to test; inference is one pass over the text and a lookup per
// feature in a dense weight table, a few microseconds per message.
//
// The operating threshold is chosen from K-fold out-of-fold scores on the training
// data only (the highest score that keeps the out-of-fold blocked-ham rate at or
// under TrainOptions.MaxHamBlocked); the shipped model then is retrained on all of
// the training data. Save writes gzip'd JSON, provenance included, whose Version is a
// short sha256 of the content, so the firewall's audit records can name the model
// that scored a message.
package model

import (
	"math"
	"sync"
)

// Model is a trained content model. Score, Spam and Explain are safe for concurrent
// use; the weights never change after Train or Decode.
type Model struct {
	// Version is a short sha256 of the saved content (set by Save and Decode).
	Version string
	// Threshold is the operating point: Spam(text) is Score(text) >= Threshold.
	Threshold float64
	// Training describes how the model was trained, including its out-of-fold report.
	Training TrainingInfo

	bits    uint
	bias    float64
	weights []float32 // dense, 1<<bits; pruned weights are 0 (training and Save)
	hot     compact   // the same weights, as Score and Explain read them
	feat    featureOpts
	pool    sync.Pool // *extractor
}

// TrainingInfo is the provenance saved with a model (and covered by its Version).
// Train fills the counts, options and out-of-fold report; whoever calls it records
// where the examples came from, when, and any held-out figures (Provenance).
type TrainingInfo struct {
	Examples int          `json:"examples"`
	Spam     int          `json:"spam"`
	Ham      int          `json:"ham"`
	Options  TrainOptions `json:"options"`
	// OutOfFold is the K-fold cross-validation report at the chosen threshold, on
	// the examples it was chosen on (TrainOptions.Calibration).
	OutOfFold Report `json:"out_of_fold"`
	// OutOfFoldExtra is the same on the examples past Calibration, if any.
	OutOfFoldExtra *Report `json:"out_of_fold_extra,omitempty"`
	// Features counts the non-zero weights kept.
	Features int `json:"features"`
	Provenance
}

// Provenance says where a model came from. Models saved before it was recorded
// have none.
type Provenance struct {
	// TrainedOn is the day the model was trained, YYYY-MM-DD, as the trainer was
	// told (never read from a clock here, so a rebuild is byte-identical).
	TrainedOn string `json:"trained_on,omitempty"`
	// Sources are the labelled files trained on, in order: the data the threshold
	// was chosen on first, then any extra data (Extra).
	Sources []DataSource `json:"sources,omitempty"`
	// HeldOut are figures on labelled files the model was not trained on, scored
	// once when it was made.
	HeldOut []Evaluation `json:"held_out,omitempty"`
}

// DataSource is one labelled file: its path as given, its content's sha256 and
// its counts.
type DataSource struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Spam   int    `json:"spam"`
	Ham    int    `json:"ham"`
	// Extra: trained on, but not used to choose the threshold.
	Extra bool `json:"extra,omitempty"`
}

// Evaluation is a model's report on one labelled file.
type Evaluation struct {
	Data   DataSource `json:"data"`
	Report Report     `json:"report"`
}

func (m *Model) extractor() *extractor {
	if x, ok := m.pool.Get().(*extractor); ok {
		return x
	}
	return &extractor{}
}

// margin is the log-odds for a feature list.
func (m *Model) margin(hashes []uint32) float64 {
	if len(hashes) == 0 {
		return m.bias
	}
	mask := uint32(len(m.weights) - 1)
	var s float64
	for _, h := range hashes {
		s += float64(m.hot.weight(h & mask))
	}
	return m.bias + s*featureScale(len(hashes))
}

// featureScale normalises a message's feature vector to unit length (each feature
// occurrence is 1/sqrt(n)), so long and short messages are on one scale.
func featureScale(n int) float64 { return 1 / math.Sqrt(float64(n)) }

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// Score is the probability that text is spam, 0..1.
func (m *Model) Score(text string) float64 {
	x := m.extractor()
	x.reset(false)
	x.extract(text, m.feat)
	z := m.margin(x.hashes)
	m.pool.Put(x)
	return sigmoid(z)
}

// Spam reports whether text scores at or above the operating threshold.
func (m *Model) Spam(text string) bool { return m.Score(text) >= m.Threshold }

// Contribution is one feature's push on a message's log-odds (positive toward spam).
type Contribution struct {
	Feature string  `json:"feature"` // e.g. word "free", bigram "call <phone>", chars "_priz"
	Weight  float64 `json:"weight"`
}
