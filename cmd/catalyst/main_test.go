package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/catalyst-cpaas/catalyst/functions"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

const repoDir = "../.."

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestRunCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		wantErr   string   // "" means success
		wantOut   []string // substrings of the output
		notInOut  []string
		wantUsage bool
	}{
		{name: "functions", args: []string{"functions"},
			wantOut: []string{"echo ", "dead-letter ", "Answers a diagnostics ping", "Records events that could not be delivered"}, notInOut: []string{"usage:"}},
		{name: "help", args: []string{"help"}, wantUsage: true},
		{name: "-h", args: []string{"-h"}, wantUsage: true},
		{name: "no args", args: nil, wantErr: "no command given", wantUsage: true},
		{name: "unknown command", args: []string{"deploy"}, wantErr: `unknown command "deploy"`, wantUsage: true},
		{name: "function without name", args: []string{"function"}, wantErr: "usage: catalyst function [flags] NAME"},
		{name: "help of an unknown command", args: []string{"help", "deploy"}, wantErr: `unknown command "deploy"`, wantUsage: true},
		{name: "help with too much", args: []string{"help", "billing", "verify", "x"}, wantErr: "at most a command and a subcommand"},
		{name: "billing unknown subcommand", args: []string{"billing", "nope"}, wantErr: `billing: unknown subcommand "nope"`, wantOut: []string{"close-month"}},
		{name: "billing close-month without month", args: []string{"billing", "close-month"}, wantErr: "-month YYYY-MM is required"},
		{name: "function unknown", args: []string{"function", "nope"}, wantErr: `function "nope" is not registered`},
		{name: "manifests without config", args: []string{"manifests", "-repo", "/nonexistent-catalyst-repo"}, wantErr: "scaling.yaml"},
		{name: "manifests bad flag", args: []string{"manifests", "-bogus"}, wantErr: "flag provided but not defined"},
		{name: "dev bad flag", args: []string{"dev", "-bogus"}, wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(context.Background(), tt.args, &out, discard())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("run(%q) = %v, want success", tt.args, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("run(%q) succeeded, want error containing %q", tt.args, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("run(%q) error %q does not contain %q", tt.args, err, tt.wantErr)
			}
			if tt.wantUsage {
				tt.wantOut = append(tt.wantOut, "usage: catalyst <command>", "functions", "manifests")
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output does not contain %q:\n%s", want, out.String())
				}
			}
			for _, not := range tt.notInOut {
				if strings.Contains(out.String(), not) {
					t.Errorf("output contains %q:\n%s", not, out.String())
				}
			}
		})
	}
}

func TestFunctionsListsOneLineEach(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"functions"}, &out, discard()); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		names = append(names, strings.Fields(line)[0])
	}
	if want := registeredNames(t); !reflect.DeepEqual(names, want) {
		t.Errorf("listed %v, want %v (sorted, one per line)", names, want)
	}
}

// TestManifestsRegenerateRepository runs `catalyst manifests` on a copy of the
// repository's config/scaling.yaml and an empty knative/: the result must be the
// repository's knative/ byte for byte.
func TestManifestsRegenerateRepository(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	scaling, err := os.ReadFile(filepath.Join(repoDir, "config", "scaling.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tmp, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "config", "scaling.yaml"), scaling, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tmp, "knative"), 0o755); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := run(context.Background(), []string{"manifests", "-repo", tmp}, &out, discard()); err != nil {
		t.Fatalf("manifests: %v\n%s", err, out.String())
	}
	names := registeredNames(t)
	if want := fmt.Sprintf("wrote %d Services to %s", len(names), filepath.Join(tmp, "knative")); !strings.Contains(out.String(), want) {
		t.Errorf("output = %q, want %q", out.String(), want)
	}

	got := yamlNames(t, filepath.Join(tmp, "knative"))
	var want []string
	for _, n := range names {
		want = append(want, n+".yaml")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wrote %v, want %v", got, want)
	}
	if repo := yamlNames(t, filepath.Join(repoDir, "knative")); !reflect.DeepEqual(got, repo) {
		t.Errorf("wrote %v, repository has %v", got, repo)
	}
	for _, name := range got {
		have, err := os.ReadFile(filepath.Join(tmp, "knative", name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(repoDir, "knative", name))
		if err != nil {
			t.Fatalf("repository knative/%s: %v", name, err)
		}
		if !bytes.Equal(have, want) {
			t.Errorf("knative/%s differs from the repository's:\n--- generated\n%s\n--- repository\n%s", name, have, want)
		}
	}

	// Running it again is idempotent.
	if err := run(context.Background(), []string{"manifests", "-repo", tmp}, io.Discard, discard()); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if again := yamlNames(t, filepath.Join(tmp, "knative")); !reflect.DeepEqual(again, got) {
		t.Errorf("second run left %v, want %v", again, got)
	}
}

func yamlNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && filepath.Ext(e.Name()) == ".yaml" {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

func TestNewLoggerLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level     string
		wantDebug bool
		wantInfo  bool
	}{
		{"", false, true},
		{"debug", true, true},
		{"DEBUG", true, true},
		{"info", false, true},
		{"warn", false, false},
		{"error", false, false},
		{"nonsense", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			t.Parallel()
			l := newLogger(io.Discard, tt.level)
			if got := l.Enabled(context.Background(), slog.LevelDebug); got != tt.wantDebug {
				t.Errorf("debug enabled = %v, want %v", got, tt.wantDebug)
			}
			if got := l.Enabled(context.Background(), slog.LevelInfo); got != tt.wantInfo {
				t.Errorf("info enabled = %v, want %v", got, tt.wantInfo)
			}
		})
	}
}

// TestEnvList cannot be parallel: it sets the environment.
func TestEnvList(t *testing.T) {
	tests := []struct {
		value string
		want  []string
	}{
		{"", nil},
		{"a:9092", []string{"a:9092"}},
		{" a:9092 , b:9092,,", []string{"a:9092", "b:9092"}},
	}
	for _, tt := range tests {
		t.Setenv("CATALYST_TEST_LIST", tt.value)
		if got := envList("CATALYST_TEST_LIST"); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("envList(%q) = %q, want %q", tt.value, got, tt.want)
		}
	}
}

// registeredNames are the registry's function names, sorted.
func registeredNames(t *testing.T) []string {
	t.Helper()
	reg, err := functions.Registry()
	if err != nil {
		t.Fatal(err)
	}
	return reg.Names()
}

// `catalyst migrate` applies the embedded migrations to DATABASE_URL, twice safely.
func TestMigrateCommand(t *testing.T) {
	url := testenv.Postgres(t)
	t.Setenv("DATABASE_URL", url)
	for range 2 {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"migrate"}, &out, discard()); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		if !regexp.MustCompile(`latest [0-9]{4}_`).MatchString(out.String()) {
			t.Fatalf("output %q", out.String())
		}
	}
	t.Setenv("DATABASE_URL", "")
	if err := run(context.Background(), []string{"migrate"}, io.Discard, discard()); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("migrate without DATABASE_URL: %v", err)
	}
}

// TestShortPlatformTokenRefused: a guessable CATALYST_PLATFORM_TOKEN stops both the
// ingress (dev) and a pod that would present it (function with K_SINK) at start.
func TestShortPlatformTokenRefused(t *testing.T) {
	t.Setenv("CATALYST_PLATFORM_TOKEN", "guessable")
	t.Setenv("K_SINK", "http://127.0.0.1:1/catalyst/default")
	t.Setenv("DATABASE_URL", "")
	t.Setenv("REDIS_URL", "")
	for _, args := range [][]string{
		{"dev", "--repo", repoDir, "--api-addr", "127.0.0.1:0", "--ingress-addr", "127.0.0.1:0", "--smsc-addr", ""},
		{"function", "--config", repoDir + "/config", "echo"},
	} {
		err := run(context.Background(), args, io.Discard, discard())
		if err == nil || !strings.Contains(err.Error(), "CATALYST_PLATFORM_TOKEN") {
			t.Errorf("run(%q) = %v, want an error naming CATALYST_PLATFORM_TOKEN", args, err)
		}
	}
}
