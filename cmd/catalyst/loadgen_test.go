package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/loadgen"
)

func TestLoadgenFlags(t *testing.T) {
	t.Parallel()
	env := func(token string) func(string) string {
		return func(k string) string {
			if k == "CATALYST_ADMIN_TOKEN" {
				return token
			}
			return ""
		}
	}
	tests := []struct {
		name     string
		args     []string
		token    string // CATALYST_ADMIN_TOKEN
		terminal bool
		wantErr  []string // each must appear in the error
		check    func(t *testing.T, c loadgen.Config)
	}{
		{name: "defaults with the token from the environment", token: "env-token", check: func(t *testing.T, c loadgen.Config) {
			if c.AdminToken != "env-token" || c.API != "http://localhost:8080" || c.Tenants != 4 || c.Duration != 30*time.Second ||
				c.Count != 0 || c.Concurrency != 64 || c.Drain != 30*time.Second || c.Mix.String() != "gsm7=70,ucs2=15,long=10,flash=5" ||
				c.Outcomes.String() != "delivered=96,undelivered=2,expired=1,rejected=1" || c.LiveProgress || c.JSON {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "flag beats the environment", args: []string{"--admin-token", "flag-token"}, token: "env-token", check: func(t *testing.T, c loadgen.Config) {
			if c.AdminToken != "flag-token" {
				t.Errorf("admin token %q, want the flag's", c.AdminToken)
			}
		}},
		{name: "count replaces the default duration", args: []string{"--count", "200", "--rate", "200", "--json"}, token: "t", check: func(t *testing.T, c loadgen.Config) {
			if c.Count != 200 || c.Duration != 0 || c.Rate != 200 || !c.JSON {
				t.Errorf("count run: %+v", c)
			}
		}},
		{name: "custom mixes", args: []string{"--mix", "ucs2=1", "--outcomes", "expired=3,delivered=1"}, token: "t", check: func(t *testing.T, c loadgen.Config) {
			if c.Mix.String() != "ucs2=1" || c.Outcomes.String() != "expired=3,delivered=1" {
				t.Errorf("mixes: %v, %v", c.Mix, c.Outcomes)
			}
		}},
		{name: "terminal means live progress", token: "t", terminal: true, check: func(t *testing.T, c loadgen.Config) {
			if !c.LiveProgress {
				t.Error("stderr is a terminal, progress is not live")
			}
		}},
		{name: "--progress forces it", args: []string{"--progress"}, token: "t", check: func(t *testing.T, c loadgen.Config) {
			if !c.LiveProgress {
				t.Error("--progress given, progress is not live")
			}
		}},
		{name: "no admin token", wantErr: []string{"--admin-token", "CATALYST_ADMIN_TOKEN"}},
		{name: "count and duration", args: []string{"--count", "5", "--duration", "1s"}, token: "t", wantErr: []string{"--count and --duration"}},
		{name: "zero count", args: []string{"--count", "0"}, token: "t", wantErr: []string{"--count"}},
		{name: "zero duration", args: []string{"--duration", "0s"}, token: "t", wantErr: []string{"--duration"}},
		{name: "zero tenants", args: []string{"--tenants", "0"}, token: "t", wantErr: []string{"--tenants"}},
		{name: "negative rate", args: []string{"--rate", "-5"}, token: "t", wantErr: []string{"--rate"}},
		{name: "malformed mix", args: []string{"--mix", "gsm7"}, token: "t", wantErr: []string{"-mix", "name=weight"}},
		{name: "unknown shape", args: []string{"--mix", "mms=5"}, token: "t", wantErr: []string{"--mix", `unknown "mms"`}},
		{name: "unknown outcome", args: []string{"--outcomes", "lost=5"}, token: "t", wantErr: []string{"--outcomes", `unknown "lost"`}},
		{name: "bad api URL", args: []string{"--api", "ftp://x"}, token: "t", wantErr: []string{"--api"}},
		{name: "bad top-up", args: []string{"--topup", "lots"}, token: "t", wantErr: []string{"--topup"}},
		{name: "stray argument", args: []string{"now"}, token: "t", wantErr: []string{`unexpected argument "now"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			cfg, err := loadgenConfig(tc.args, &out, env(tc.token), tc.terminal)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, want one mentioning %v", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}

func TestLoadgenHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"loadgen", "-h"}, &out, newLogger(&out, "error")); err != nil {
		t.Fatalf("loadgen -h: %v", err)
	}
	for _, want := range []string{"usage: catalyst loadgen", "-rate", "-outcomes", "-drain", "docs/loadgen.md"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}
