package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/stores"
	"github.com/catalyst-cpaas/catalyst/internal/testenv"
)

// Decisions stored in PostgreSQL's audit, replayed under a rule set with one more
// rule: the report names what would change and leaves the rest alone.
func TestFirewallReplay(t *testing.T) {
	dbURL := testenv.Postgres(t)
	ctx := context.Background()
	st, err := stores.Open(ctx, dbURL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wall, closeWall, err := st.Firewall(ctx, discard(), filepath.Join(repoDir, "config"))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"Cheap watches at our warehouse this weekend", "See you at the meeting",
		"Please verify account at http://secure-login.example.com"} {
		id := uuid.NewString()
		if _, err := wall.Screen(ctx, catalog.MessageRequested{MessageID: id, TenantID: "acme", Channel: "sms", From: "Acme",
			To: "+447911123456", Content: catalog.Content{Type: "text", Text: text}}); err != nil {
			t.Fatal(err)
		}
	}
	closeWall() // flushes the audit
	shipped, err := os.ReadFile(filepath.Join(repoDir, "config", "firewall-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(t.TempDir(), "rules.yaml")
	extra := "\n- name: no-watches\n  match: {keywords: [\"cheap watches\"]}\n  action: block\n"
	if err := os.WriteFile(changed, append(shipped, extra...), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", dbURL)
	var out bytes.Buffer
	if err := run(ctx, []string{"firewall", "replay", "--since", "1h", "--config-dir", filepath.Join(repoDir, "config"),
		"--rules", changed, "--json"}, &out, discard()); err != nil {
		t.Fatalf("replay: %v\n%s", err, out.String())
	}
	var rep replayReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if rep.Decisions != 3 || rep.Changed != 1 || rep.Transitions["pass→block"] != 1 || rep.RuleHits["no-watches"] != [2]int{0, 1} {
		t.Fatalf("report %+v", rep)
	}
	out.Reset()
	if err := run(ctx, []string{"firewall", "replay", "--since", "1h", "--config-dir", filepath.Join(repoDir, "config")}, &out, discard()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte("replayed 3 decisions")) || !bytes.Contains(out.Bytes(), []byte(": 0 would change")) {
		t.Fatalf("replay under the rules in force:\n%s", out.String())
	}
}
