package screening

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// Files in the config directory.
const (
	SettingsFile = "firewall.yaml"
	RulesFile    = "firewall-rules.yaml"
	PatternsFile = "firewall-patterns.yaml"
)

// Model modes.
const (
	ModelEnforce = "enforce"
	ModelShadow  = "shadow"
	ModelOff     = "off"
)

// Settings are config/firewall.yaml.
type Settings struct {
	Thresholds struct {
		Block int `json:"block"`
		Hold  int `json:"hold"`
	} `json:"thresholds"`
	Review struct {
		SLA           Duration `json:"sla"`
		DefaultAction string   `json:"default_action"`
		// Retention is how long decided reviews and released throttled messages stay
		// in their queues (the audit keeps every decision regardless).
		Retention Duration `json:"retention"`
	} `json:"review"`
	Throttle struct {
		Delay Duration `json:"delay"`
	} `json:"throttle"`
	Model struct {
		File string `json:"file"`
		Mode string `json:"mode"`
	} `json:"model"`
	HighCostPrefixes []string `json:"high_cost_prefixes"`
	ReputationCache  Duration `json:"reputation_cache"`
	ReloadInterval   Duration `json:"reload_interval"`
}

// Duration is a time.Duration written as "5m" in YAML.
type Duration time.Duration

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`want a duration such as "90s" or "5m"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// DefaultSettings are what an absent field means.
func DefaultSettings() Settings {
	var s Settings
	s.Thresholds.Block, s.Thresholds.Hold = 90, 70
	s.Review.SLA, s.Review.DefaultAction = Duration(5*time.Minute), firewall.Block
	s.Review.Retention = Duration(30 * 24 * time.Hour)
	s.Throttle.Delay = Duration(time.Minute)
	s.Model.File, s.Model.Mode = "firewall-model.json.gz", ModelEnforce
	s.ReputationCache = Duration(10 * time.Second)
	s.ReloadInterval = Duration(2 * time.Second)
	return s
}

// ParseSettings reads firewall.yaml over the defaults and checks it; problems are
// reported together, by field path.
func ParseSettings(data []byte) (Settings, error) {
	s := DefaultSettings()
	raw, err := yaml.YAMLToJSON(data)
	if err != nil {
		return s, errs.E(errs.Invalid, "firewall settings: %v", err)
	}
	if len(bytes.TrimSpace(raw)) > 0 && string(bytes.TrimSpace(raw)) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return s, errs.E(errs.Invalid, "firewall settings: %v", err)
		}
	}
	var bad []errs.FieldViolation
	add := func(field, why string) { bad = append(bad, errs.FieldViolation{Field: field, Reason: why}) }
	if s.Thresholds.Block < 1 || s.Thresholds.Block > 100 {
		add("thresholds.block", "must be 1-100")
	}
	if s.Thresholds.Hold < 1 || s.Thresholds.Hold > s.Thresholds.Block {
		add("thresholds.hold", "must be 1 up to thresholds.block")
	}
	if s.Review.SLA <= 0 {
		add("review.sla", "must be positive")
	}
	if s.Review.DefaultAction != firewall.Pass && s.Review.DefaultAction != firewall.Block {
		add("review.default_action", "must be pass or block")
	}
	if s.Review.Retention < Duration(time.Hour) {
		add("review.retention", "must be at least 1h")
	}
	if s.Throttle.Delay <= 0 {
		add("throttle.delay", "must be positive")
	}
	switch s.Model.Mode {
	case ModelEnforce, ModelShadow, ModelOff:
	default:
		add("model.mode", "must be enforce, shadow or off")
	}
	if s.Model.Mode != ModelOff && strings.TrimSpace(s.Model.File) == "" {
		add("model.file", "required unless model.mode is off")
	}
	for i, p := range s.HighCostPrefixes {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			add("high_cost_prefixes["+strconv.Itoa(i)+"]", "must be digits (E.164 without '+')")
		}
	}
	if s.ReputationCache < 0 {
		add("reputation_cache", "must not be negative")
	}
	if s.ReloadInterval <= 0 {
		add("reload_interval", "must be positive")
	}
	if len(bad) > 0 {
		return s, invalid("firewall settings", bad)
	}
	return s, nil
}

// LoadSettings reads dir/firewall.yaml; a missing file means the defaults.
func LoadSettings(dir string) (Settings, error) {
	data, err := os.ReadFile(filepath.Join(dir, SettingsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return Settings{}, errs.Wrap(errs.Internal, err, "firewall settings")
	}
	s, err := ParseSettings(data)
	if err != nil {
		return s, errs.Wrap(errs.Invalid, err, "%s", filepath.Join(dir, SettingsFile))
	}
	return s, nil
}

// invalid reports field violations with each named in the message too (a CLI or a
// log shows the message only).
func invalid(what string, bad []errs.FieldViolation) *errs.Error {
	parts := make([]string, len(bad))
	for i, f := range bad {
		parts[i] = f.Field + ": " + f.Reason
	}
	return &errs.Error{Code: errs.Invalid, Message: what + ": " + strings.Join(parts, "; "), Fields: bad}
}
