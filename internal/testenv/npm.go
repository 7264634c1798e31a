package testenv

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// Unavailable fails the test under CATALYST_REQUIRE_SERVICES=1 (make test) and skips
// it otherwise: for a peer or tool the test cannot run without.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	unavailable(t, format, args...)
}

var exactVersion = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// NPMInstall installs the npm package name, at the exact version packageDir's
// package.json pins, into a temporary directory (saying so in the test log) and
// returns its node_modules. Interop tests use it to run peers this project did not
// write.
func NPMInstall(t testing.TB, packageDir, name string) string {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		Unavailable(t, "interop test needs npm: %v", err)
	}
	pkg, err := os.ReadFile(filepath.Join(packageDir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(pkg, &manifest); err != nil {
		t.Fatalf("%s/package.json: %v", packageDir, err)
	}
	version := manifest.Dependencies[name]
	if !exactVersion.MatchString(version) {
		t.Fatalf("%s/package.json must pin %s to an exact version, has %q", packageDir, name, version)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), pkg, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("installing the npm package %s@%s from the npm registry into %s (npm install)", name, version, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--prefer-offline",
		"--fetch-retries=1", "--fetch-timeout=30000", name+"@"+version)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		Unavailable(t, "npm install %s@%s failed (is the npm registry reachable?): %v\n%s", name, version, err, out)
	}
	return filepath.Join(dir, "node_modules")
}
