// Package testenv gives tests their own PostgreSQL database and Redis key prefix on
// the servers named by DATABASE_URL and REDIS_URL (localhost by default), so test runs
// and parallel tests never collide. `make test` sets CATALYST_REQUIRE_SERVICES=1:
// then an unreachable server fails the test instead of skipping it.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

const (
	defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	defaultRedisURL    = "redis://127.0.0.1:6379/0"
)

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CATALYST_REQUIRE_SERVICES") == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format+" (set CATALYST_REQUIRE_SERVICES=1 to fail instead)", args...)
}

// UniqueName returns prefix_ plus 12 random hex digits.
func UniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// Postgres creates a fresh database for the test, dropped when it ends, and returns
// its URL.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("DATABASE_URL")
	if admin == "" {
		admin = defaultDatabaseURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		unavailable(t, "PostgreSQL at DATABASE_URL: %v", err)
		return ""
	}
	defer conn.Close(context.Background())
	name := UniqueName("catalyst_test")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Redis returns a client and a key prefix unique to the test; keys under the prefix
// are deleted when the test ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		raw = defaultRedisURL
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		unavailable(t, "Redis at REDIS_URL: %v", err)
		return nil, ""
	}
	prefix := UniqueName("catalyst_test") + ":"
	t.Cleanup(func() {
		defer client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := UnlinkPrefix(ctx, client, prefix); err != nil {
			t.Errorf("clean redis prefix %s: %v", prefix, err)
		}
	})
	return client, prefix
}

// UnlinkPrefix deletes every key under prefix, a thousand per UNLINK: a benchmark
// or a load run leaves hundreds of thousands, and one round trip per key outlasted
// any sensible deadline.
func UnlinkPrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	var batch []string
	unlink := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := c.Unlink(ctx, batch...).Err()
		batch = batch[:0]
		return err
	}
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 1000 {
			if err := unlink(); err != nil {
				return err
			}
		}
	}
	if err := unlink(); err != nil {
		return err
	}
	return iter.Err()
}

// String describes where tests run, for logs.
func String() string {
	return fmt.Sprintf("DATABASE_URL=%q REDIS_URL=%q", os.Getenv("DATABASE_URL"), os.Getenv("REDIS_URL"))
}
