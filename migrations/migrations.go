// Package migrations holds Catalyst's PostgreSQL schema as numbered SQL files
// (0001_tenants.sql, 0002_….sql), embedded in the binary. internal/postgres applies
// them in name order, one transaction each, and records each in schema_migrations.
// A merged migration is never edited: a change is a new file.
package migrations

import "embed"

// FS holds every migration, named NNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
