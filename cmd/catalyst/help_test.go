package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMain lets a test run this binary as `catalyst` (CATALYST_TEST_RUN_MAIN=1): exit
// codes, stdout and stderr are then the real process's.
func TestMain(m *testing.M) {
	if os.Getenv("CATALYST_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// catalystProcess runs the test binary as `catalyst args…` with env added.
func catalystProcess(t *testing.T, env []string, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "CATALYST_TEST_RUN_MAIN=1"), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("catalyst %q did not finish in 20s (waiting for a service?)\nstdout:\n%s\nstderr:\n%s", args, out.String(), errOut.String())
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		exitCode = exitErr.ExitCode()
	default:
		t.Fatalf("run catalyst %q: %v", args, err)
	}
	return out.String(), errOut.String(), exitCode
}

// helpFlags is each command's and subcommand's own flags, as its help must list them.
var helpFlags = map[string][]string{
	"dev": {"api-addr", "config", "f", "http-idle-timeout", "http-max-header-bytes", "http-read-header-timeout", "http-read-timeout",
		"http-write-timeout", "ingress-addr", "kafka-data-dir", "max-in-flight", "pprof-addr", "read-cache", "repo",
		"smsc-addr", "smsc-receipt-delay", "unfused"},
	"function":            {"config"},
	"functions":           nil,
	"manifests":           {"repo"},
	"migrate":             nil,
	"billing":             nil,
	"billing rebuild":     {"config-dir", "json"},
	"billing verify":      {"config-dir", "json"},
	"billing close-month": {"config-dir", "json", "month", "tenant"},
	"billing reconcile":   {"config-dir", "grace", "json"},
	"billing adjust":      {"amount", "config-dir", "json", "key", "reference", "tenant"},
	"firewall":            nil,
	"firewall train":      {"data", "date", "extra", "held-out", "max-ham-blocked", "out", "seed"},
	"firewall eval":       {"data", "json", "model"},
	"firewall split":      {"data", "seed", "test", "test-fraction", "train"},
	"firewall replay":     {"config-dir", "examples", "json", "rules", "since", "tenant"},
	"smsc-sim":            {"account", "addr", "delivered", "expired", "magic-numbers", "receipt-delay", "seed", "undelivered"},
	"loadgen":             {"admin-token", "api", "concurrency", "count", "drain", "duration", "json", "mix", "outcomes", "poll", "progress", "rate", "seed", "tenants", "topup"},
	"help":                nil,
	"":                    nil, // catalyst -h
}

var flagLine = regexp.MustCompile(`(?m)^  -(\S+)`)

// Every command's and subcommand's -h, --help and help (and `catalyst help …`) exits
// 0, prints its usage on stdout and nothing on stderr, names its own flags and no
// other's, and answers with every service pointed at a closed port and a secret in
// the environment, which it must not print.
func TestHelpEverywhere(t *testing.T) {
	t.Parallel()
	paths := []string{""}
	for _, c := range commands {
		paths = append(paths, c.name)
	}
	for _, s := range billingCommands {
		paths = append(paths, "billing "+s.name)
	}
	for _, s := range firewallCommands {
		paths = append(paths, "firewall "+s.name)
	}
	for _, p := range paths {
		if _, ok := helpFlags[p]; !ok {
			t.Errorf("command %q has no entry in helpFlags: add its flags", p)
		}
	}
	env := []string{"DATABASE_URL=postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable", "REDIS_URL=redis://127.0.0.1:1",
		"KAFKA_BROKERS=127.0.0.1:1", "PORT=1", "CATALYST_ADMIN_TOKEN=cat_admin_do_not_print"}
	for _, p := range paths {
		words := strings.Fields(p)
		forms := [][]string{append(slices.Clone(words), "-h"), append(slices.Clone(words), "--help"), append(slices.Clone(words), "help"),
			append([]string{"help"}, words...)}
		for _, args := range forms {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				t.Parallel()
				stdout, stderr, code := catalystProcess(t, env, args...)
				if code != 0 || stderr != "" {
					t.Fatalf("exit %d, stderr %q; want 0 and nothing\nstdout:\n%s", code, stderr, stdout)
				}
				if want := strings.TrimSpace("usage: catalyst " + p); p != "help" && !strings.HasPrefix(stdout, want) {
					t.Errorf("stdout does not start with %q:\n%s", want, stdout)
				}
				for _, line := range strings.Split(stdout, "\n") {
					if strings.Count(line, "(default") > 1 {
						t.Errorf("a default is printed twice: %q", line)
					}
				}
				if strings.Contains(stdout, "cat_admin_do_not_print") {
					t.Errorf("help printed the admin token from the environment:\n%s", stdout)
				}
				var got []string
				for _, m := range flagLine.FindAllStringSubmatch(stdout, -1) {
					got = append(got, m[1])
				}
				if want := helpFlags[p]; !slices.Equal(got, want) {
					t.Errorf("help lists flags %v, want %v:\n%s", got, want, stdout)
				}
			})
		}
	}
}

// A wrong flag is an error on stderr naming the flag, exit 1, and no usage on stdout.
func TestBadFlagIsAnError(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"dev", "-bogus"}, {"billing", "verify", "-month", "2026-01"}, {"firewall", "split", "-nope"}} {
		stdout, stderr, code := catalystProcess(t, nil, args...)
		if code != 1 || !strings.Contains(stderr, "flag provided but not defined") || strings.Contains(stdout, "usage:") {
			t.Errorf("catalyst %q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}
