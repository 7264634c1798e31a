package tests

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// walkthrough is the shell the README's blocks marked <!-- walkthrough --> hold, in
// order: what a newcomer pastes into a second shell while `make run` runs.
func walkthrough(t *testing.T, readme string) string {
	t.Helper()
	var script strings.Builder
	blocks := 0
	lines := strings.Split(readme, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "<!-- walkthrough -->" {
			continue
		}
		if i+1 >= len(lines) || lines[i+1] != "```sh" {
			t.Fatalf("README.md:%d: a walkthrough marker must be followed by a ```sh block", i+1)
		}
		i += 2
		for ; i < len(lines) && lines[i] != "```"; i++ {
			script.WriteString(lines[i] + "\n")
		}
		blocks++
	}
	if blocks < 4 {
		t.Fatalf("README.md has %d walkthrough blocks, want the health check, tenant, messages and firewall ones", blocks)
	}
	return script.String()
}

// The README's walkthrough, run as written against `catalyst dev` started as the
// README starts it (in-memory stores, the admin token it names). The platform runs
// on free ports, so localhost:8080 and :8081 are the only words replaced. Each id
// is captured as the README shows; the script stops at the first failing command
// (bash -e, jq -e on every id) and must show what the README says it shows.
func TestREADMEWalkthrough(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed; the README's walkthrough uses it to keep ids")
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	token := regexp.MustCompile(`CATALYST_ADMIN_TOKEN=(\S+) make run`).FindSubmatch(readme)
	if token == nil {
		t.Fatal("README.md no longer starts make run with a known CATALYST_ADMIN_TOKEN; the walkthrough's $ADMIN needs one")
	}
	script := walkthrough(t, string(readme))
	p := startDev(t, []string{"CATALYST_ADMIN_TOKEN=" + string(token[1]), "DATABASE_URL=", "REDIS_URL="})
	api, err := url.Parse(p.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	ingress, err := url.Parse(p.IngressURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"localhost:8080", "localhost:8081"} {
		if !strings.Contains(script, addr) {
			t.Fatalf("the walkthrough no longer names %s: update this test with it", addr)
		}
	}
	script = strings.NewReplacer("localhost:8080", api.Host, "localhost:8081", ingress.Host).Replace(script)
	if strings.Contains(script, ":8080") || strings.Contains(script, ":8081") {
		t.Fatalf("the walkthrough names the default ports in another form; it would reach another server:\n%s", script)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-eu", "-c", script)
	cmd.Dir = t.TempDir()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("the README's walkthrough failed: %v (after 90s: %v)\nstdout:\n%s\nstderr:\n%s", err, ctx.Err() != nil, out.String(), errOut.String())
	}
	for _, want := range []string{
		"HTTP/1.1 200", `{"status":"ok"}`, // health
		"HTTP/1.1 401", "HTTP/1.1 404", "HTTP/1.1 202", // ingress: no credential, no broker, a tenant's key
		`"reference":"INV-1"`,                 // top-up
		`"history":[`, `"status":"delivered"`, // messages
		`"available":"24.97"`,                                // two SMS reserved or charged at EUR 0.015 each, as the README says
		`"breakdown":{`,                                      // the price, step by step
		`"status":"blocked"`, `"decisions":[{`, `"reviews":`, // firewall
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the walkthrough's output lacks %s\nstdout:\n%s\nstderr:\n%s", want, out.String(), errOut.String())
		}
	}
}
