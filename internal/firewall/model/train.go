package model

import (
	"math"
	"math/rand/v2"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// TrainOptions are the training hyperparameters; a zero field takes the default
// (chosen by 5-fold cross-validation on the training part of the SMS corpus).
type TrainOptions struct {
	// Seed drives the fold assignment and the SGD shuffles: same data and seed, same model.
	Seed int64 `json:"seed"`
	// MaxHamBlocked is the out-of-fold blocked-ham rate the threshold is chosen for
	// (default 0.002, well under the firewall's 0.5 % bar).
	MaxHamBlocked float64 `json:"max_ham_blocked"`
	// Folds for the out-of-fold scores (default 5).
	Folds int `json:"folds"`
	// Bits of the feature hash: 1<<Bits weights (default 20).
	Bits uint `json:"bits"`
	// Epochs of AdaGrad SGD (default 20).
	Epochs int `json:"epochs"`
	// LearningRate is AdaGrad's base step (default 0.5).
	LearningRate float64 `json:"learning_rate"`
	// L2 regularisation per update (default 1e-5).
	L2 float64 `json:"l2"`
	// CharMin and CharMax bound the character n-grams inside words (default 1 and 4;
	// 1-grams are single letters, a cheap signal of the alphabet and style).
	CharMin int `json:"char_min"`
	CharMax int `json:"char_max"`
	// SpamWeight multiplies the loss of spam examples (default 1).
	SpamWeight float64 `json:"spam_weight"`
	// Prune drops weights smaller than this in absolute value from the final model
	// (default 1e-3; it keeps the file small and barely moves a score).
	Prune float64 `json:"prune"`
	// Calibration, when not 0, is how many of the examples, from the first, the
	// threshold is chosen on; the rest are trained on alike but left out of that
	// choice (extra data that teaches shapes the main corpus lacks, such as one-time
	// passcodes, whose ham would otherwise set the threshold for all of it).
	Calibration int `json:"calibration,omitempty"`
}

func (o TrainOptions) withDefaults() TrainOptions {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.MaxHamBlocked, 0.002)
	def(&o.LearningRate, 0.5)
	def(&o.L2, 1e-5)
	def(&o.SpamWeight, 1)
	def(&o.Prune, 1e-3)
	if o.Folds == 0 {
		o.Folds = 5
	}
	if o.Bits == 0 {
		o.Bits = 20
	}
	if o.Epochs == 0 {
		o.Epochs = 20
	}
	if o.CharMin == 0 {
		o.CharMin = 1
	}
	if o.CharMax == 0 {
		o.CharMax = 4
	}
	return o
}

func (o TrainOptions) validate() error {
	var v []errs.FieldViolation
	bad := func(field, reason string) { v = append(v, errs.FieldViolation{Field: field, Reason: reason}) }
	if o.MaxHamBlocked < 0 || o.MaxHamBlocked >= 1 {
		bad("max_ham_blocked", "must be in [0, 1)")
	}
	if o.Folds < 2 {
		bad("folds", "must be at least 2")
	}
	if o.Bits < 8 || o.Bits > 26 {
		bad("bits", "must be in [8, 26]")
	}
	if o.Epochs < 1 {
		bad("epochs", "must be at least 1")
	}
	if o.LearningRate < 0 || o.L2 < 0 || o.SpamWeight < 0 || o.Prune < 0 {
		bad("learning_rate", "learning_rate, l2, spam_weight and prune must not be negative")
	}
	if o.Calibration < 0 {
		bad("calibration", "must not be negative")
	}
	if o.CharMin < 1 || o.CharMax < o.CharMin || o.CharMax > 8 {
		bad("char_min", "need 1 <= char_min <= char_max <= 8")
	}
	if len(v) > 0 {
		return &errs.Error{Code: errs.Invalid, Message: "invalid training options", Fields: v}
	}
	return nil
}

// sample is an example's features, hashed and masked to the weight table.
type sample struct {
	idx   []uint32
	scale float64
	spam  bool
}

// Train fits a model on ex, chooses its threshold from out-of-fold scores (see the
// package doc) and retrains on all of ex. Every label needs at least opt.Folds
// examples.
func Train(ex []Example, opt TrainOptions) (*Model, error) {
	opt = opt.withDefaults()
	if err := opt.validate(); err != nil {
		return nil, err
	}
	var nSpam int
	for _, e := range ex {
		if e.Spam {
			nSpam++
		}
	}
	nHam := len(ex) - nSpam
	if nSpam < opt.Folds || nHam < opt.Folds {
		return nil, errs.E(errs.Invalid, "training needs at least %d spam and %d ham examples, got %d and %d", opt.Folds, opt.Folds, nSpam, nHam)
	}
	nCal := len(ex)
	if opt.Calibration > 0 {
		if opt.Calibration > len(ex) {
			return nil, errs.E(errs.Invalid, "calibration: %d examples, but there are %d", opt.Calibration, len(ex))
		}
		nCal = opt.Calibration
	}
	if calHam := countHam(ex[:nCal]); calHam == 0 {
		return nil, errs.E(errs.Invalid, "calibration: the first %d examples have no ham to choose the threshold on", nCal)
	}
	feat := featureOpts{CharMin: opt.CharMin, CharMax: opt.CharMax, Tokens: tokensLatest}
	mask := uint32(1)<<opt.Bits - 1
	samples := make([]sample, len(ex))
	x := &extractor{}
	for i, e := range ex {
		x.reset(false)
		x.extract(e.Text, feat)
		idx := make([]uint32, len(x.hashes))
		for j, h := range x.hashes {
			idx[j] = h & mask
		}
		samples[i] = sample{idx: idx, scale: featureScale(max(len(idx), 1)), spam: e.Spam}
	}

	rng := rand.New(rand.NewPCG(uint64(opt.Seed), 0xf01d))
	// The extra examples get folds of their own generator, so the calibration part's
	// folds, and the threshold chosen on them, do not move when extra data changes.
	fold := stratifiedFolds(ex[:nCal], opt.Folds, rng)
	if nCal < len(ex) {
		extra := rand.New(rand.NewPCG(uint64(opt.Seed), 0xe47a))
		fold = append(fold, stratifiedFolds(ex[nCal:], opt.Folds, extra)...)
	}
	oof := make([]float64, len(ex))
	for f := 0; f < opt.Folds; f++ {
		var in []int
		for i := range samples {
			if fold[i] != f {
				in = append(in, i)
			}
		}
		w, b := fit(samples, in, opt, rng)
		for i := range samples {
			if fold[i] == f {
				oof[i] = sigmoid(b + dot(w, samples[i]))
			}
		}
	}
	threshold := chooseThreshold(ex[:nCal], oof[:nCal], opt.MaxHamBlocked)

	all := make([]int, len(samples))
	for i := range all {
		all[i] = i
	}
	w, b := fit(samples, all, opt, rng)
	m := &Model{Threshold: threshold, bits: opt.Bits, bias: b, feat: feat, weights: make([]float32, len(w))}
	kept := 0
	for i, v := range w {
		if math.Abs(v) >= opt.Prune {
			m.weights[i] = float32(v)
			kept++
		}
	}
	m.hot = newCompact(m.weights)
	m.Training = TrainingInfo{
		Examples: len(ex), Spam: nSpam, Ham: nHam, Options: opt, Features: kept,
		OutOfFold: reportFromScores(ex[:nCal], oof[:nCal], threshold),
	}
	if nCal < len(ex) {
		r := reportFromScores(ex[nCal:], oof[nCal:], threshold)
		m.Training.OutOfFoldExtra = &r
	}
	return m, nil
}

func countHam(ex []Example) int {
	n := 0
	for _, e := range ex {
		if !e.Spam {
			n++
		}
	}
	return n
}

func dot(w []float64, s sample) float64 {
	var z float64
	for _, j := range s.idx {
		z += w[j]
	}
	return z * s.scale
}

// fit runs AdaGrad SGD on the logistic loss with lazy L2 (applied to the weights a
// sample touches) over the samples in, shuffled each epoch.
func fit(samples []sample, in []int, opt TrainOptions, rng *rand.Rand) ([]float64, float64) {
	n := 1 << opt.Bits
	w, g2 := make([]float64, n), make([]float64, n)
	var bias, biasG2 float64
	order := append([]int(nil), in...)
	const eps = 1e-8
	for epoch := 0; epoch < opt.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			s := samples[i]
			p := sigmoid(bias + dot(w, s))
			var g float64
			if s.spam {
				g = (p - 1) * opt.SpamWeight
			} else {
				g = p
			}
			biasG2 += g * g
			bias -= opt.LearningRate * g / math.Sqrt(biasG2+eps)
			for _, j := range s.idx {
				gj := g*s.scale + opt.L2*w[j]
				g2[j] += gj * gj
				w[j] -= opt.LearningRate * gj / math.Sqrt(g2[j]+eps)
			}
		}
	}
	return w, bias
}

// chooseThreshold returns the lowest threshold at which at most
// floor(maxHam × ham) of the out-of-fold ham scores are at or above it, placed
// half-way (in log-odds) between that ham score and the next higher one, so a
// slightly different retrained model does not tip the boundary ham over it (just
// above the highest ham score when none may be blocked).
func chooseThreshold(ex []Example, oof []float64, maxHam float64) float64 {
	var ham []float64
	for i, e := range ex {
		if !e.Spam {
			ham = append(ham, oof[i])
		}
	}
	desc := sortedDesc(ham)
	allowed := int(maxHam * float64(len(desc)))
	// Ties: every ham equal to desc[allowed] must stay below the threshold.
	for allowed > 0 && desc[allowed-1] == desc[allowed] {
		allowed--
	}
	lower := desc[allowed]
	if allowed == 0 {
		return math.Nextafter(lower, 2)
	}
	t := sigmoid((logit(lower) + logit(desc[allowed-1])) / 2)
	if t <= lower {
		t = math.Nextafter(lower, 2)
	}
	return t
}

func logit(p float64) float64 {
	p = min(max(p, 1e-12), 1-1e-12)
	return math.Log(p / (1 - p))
}
