package stores

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/dpi"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/model"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/rules"
	"github.com/catalyst-cpaas/catalyst/internal/screening"
)

// Firewall returns a firewall engine over the stores, configured from configDir
// (firewall.yaml, firewall-rules.yaml, firewall-patterns.yaml and the content
// model). The rule file is hot-reloaded until ctx is done; the returned close func
// flushes the audit.
func (s *Stores) Firewall(ctx context.Context, log *slog.Logger, configDir string) (*screening.Engine, func(), error) {
	settings, err := screening.LoadSettings(configDir)
	if err != nil {
		return nil, nil, err
	}
	patterns, err := dpi.LoadPatterns(filepath.Join(configDir, screening.PatternsFile))
	if err != nil {
		return nil, nil, fmt.Errorf("firewall patterns: %w", err)
	}
	var m *model.Model
	if settings.Model.Mode != screening.ModelOff {
		if m, err = model.Load(filepath.Join(configDir, settings.Model.File)); err != nil {
			return nil, nil, fmt.Errorf("firewall model: %w", err)
		}
	}
	watcher, err := rules.NewWatcher(filepath.Join(configDir, screening.RulesFile), time.Duration(settings.ReloadInterval), log)
	if err != nil {
		return nil, nil, fmt.Errorf("firewall rules: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	go watcher.Run(ctx)
	var rep firewall.ReputationStore = s.FirewallReputation
	if ttl := time.Duration(settings.ReputationCache); ttl > 0 {
		rep = firewall.NewReputationCache(rep, ttl, time.Now)
	}
	e, err := screening.New(screening.Config{
		Settings: settings, Rules: watcher, Patterns: patterns, Model: m,
		Velocity: s.Velocity, Reputation: rep, Reviews: s.FirewallReviews, Audit: s.FirewallAudit, Logger: log,
	})
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return e, func() { cancel(); e.Close() }, nil
}
