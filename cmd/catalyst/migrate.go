package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/catalyst-cpaas/catalyst/internal/postgres"
)

// runMigrate applies pending PostgreSQL migrations to DATABASE_URL.
func runMigrate(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	fs := newFlagSet(out, "migrate", "usage: catalyst migrate\n\nApplies pending PostgreSQL migrations to DATABASE_URL ('catalyst dev' and\n'catalyst function' do it themselves on start).\n")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate: unexpected argument %q", fs.Arg(0))
	}
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return fmt.Errorf("migrate: DATABASE_URL is not set")
	}
	db, err := postgres.Open(ctx, url, postgres.WithLogger(log))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	all, err := postgres.Migrations()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "migrated: %d migrations applied or already present (latest %s)\n", len(all), all[len(all)-1].Version)
	return nil
}
