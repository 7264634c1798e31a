package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/catalyst-cpaas/catalyst/functions"
	"github.com/catalyst-cpaas/catalyst/internal/manifest"
	"github.com/catalyst-cpaas/catalyst/internal/scaling"
)

// runManifests regenerates knative/ from the function registry and
// config/scaling.yaml (`make manifests`).
func runManifests(_ context.Context, args []string, out io.Writer, _ *slog.Logger) error {
	fs := newFlagSet(out, "manifests", `usage: catalyst manifests [flags]

Regenerates the Knative Services in knative/ from the function registry and
config/scaling.yaml (what 'make manifests' runs).
`)
	repo := fs.String("repo", ".", "repository root")
	if err := fs.Parse(args); err != nil {
		return err
	}
	reg, err := functions.Registry()
	if err != nil {
		return err
	}
	policy, err := scaling.Load(filepath.Join(*repo, "config", "scaling.yaml"))
	if err != nil {
		return err
	}
	if err := policy.Validate(reg); err != nil {
		return err
	}
	files, err := manifest.GenerateServices(reg, policy, manifest.DefaultNamespace)
	if err != nil {
		return err
	}
	dir := filepath.Join(*repo, "knative")
	if err := manifest.WriteServices(dir, files); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d Services to %s\n", len(files), dir)
	return nil
}
