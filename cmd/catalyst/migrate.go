package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/catalyst-cpaas/catalyst/internal/postgres"
)

// runMigrate applies pending PostgreSQL migrations to DATABASE_URL.
func runMigrate(ctx context.Context, out io.Writer) error {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return fmt.Errorf("migrate: DATABASE_URL is not set")
	}
	db, err := postgres.Open(ctx, url)
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
