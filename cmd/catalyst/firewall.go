package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/dpi"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/model"
	"github.com/catalyst-cpaas/catalyst/internal/firewall/rules"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/postgres"
	"github.com/catalyst-cpaas/catalyst/internal/screening"
	"github.com/catalyst-cpaas/catalyst/internal/velocity"
)

var firewallCommands = []subcommand{
	{"train", "train the content model on a labelled TSV (label<TAB>text)"},
	{"eval", "spam caught, blocked ham, accuracy and MCC of a model on a labelled TSV"},
	{"split", "split a labelled TSV into training and held-out parts (stratified)"},
	{"replay", "re-decide stored firewall decisions under a changed rule set (DATABASE_URL)"},
}

const firewallEvalUsage = `usage: catalyst firewall eval --data FILE [--model MODEL] [--json]

Prints the model's provenance (training data, date, held-out figures), then spam
caught, blocked ham, accuracy and MCC of the content model on a labelled TSV
(label<TAB>text, ham|spam), at the model's threshold.
`

func runFirewall(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	if len(args) == 0 {
		printSubcommands(out, "firewall", firewallCommands)
		return fmt.Errorf("firewall: no subcommand")
	}
	if isHelp(args[0]) {
		printSubcommands(out, "firewall", firewallCommands)
		return flag.ErrHelp
	}
	switch args[0] {
	case "train":
		return runFirewallTrain(args[1:], out, time.Now)
	case "eval":
		if len(args) > 1 && isHelp(args[1]) {
			// eval keeps its flags in its own body; its default usage lists them.
			return helpFromDefaultUsage(out, firewallEvalUsage, func(w io.Writer) error { return runFirewallEval([]string{"-h"}, w) })
		}
		return runFirewallEval(args[1:], out)
	case "split":
		return runFirewallSplit(args[1:], out)
	case "replay":
		return runFirewallReplay(ctx, args[1:], out, log)
	}
	printSubcommands(out, "firewall", firewallCommands)
	return fmt.Errorf("firewall: unknown subcommand %q", args[0])
}

// replayReport is what `catalyst firewall replay` found.
type replayReport struct {
	Since        time.Time         `json:"since"`
	RulesVersion string            `json:"rules_version"`
	Decisions    int               `json:"decisions"`
	Changed      int               `json:"changed"`
	Transitions  map[string]int    `json:"transitions"` // "pass→block": count, changed ones only
	RuleHits     map[string][2]int `json:"rule_hits"`   // rule: [before, after]
	Examples     []replayChange    `json:"examples,omitempty"`
}

type replayChange struct {
	MessageID   string `json:"message_id"`
	TenantID    string `json:"tenant_id"`
	Before      string `json:"before"`
	After       string `json:"after"`
	Explanation string `json:"explanation"`
}

func runFirewallReplay(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	fs := newFlagSet(out, "firewall replay", `usage: catalyst firewall replay --since 1h|RFC3339 [flags]

Re-decides the firewall decisions stored in PostgreSQL (DATABASE_URL) since a time
under a rule set, and reports which would change and how.
`)
	since := fs.String("since", "", "replay decisions from this time: a duration back from now (1h, 30m) or RFC 3339 (required)")
	configDir := fs.String("config-dir", "config", "the platform's configuration (firewall.yaml, patterns, model)")
	rulesFile := fs.String("rules", "", "the rule set to try (default: config-dir/firewall-rules.yaml, the one in force)")
	tenantID := fs.String("tenant", "", "only this tenant's messages")
	examples := fs.Int("examples", 20, "how many changed messages to list")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	from, err := parseSince(*since, time.Now())
	if err != nil {
		return err
	}
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		return fmt.Errorf("firewall replay reads the decision audit from PostgreSQL: set DATABASE_URL")
	}
	if *rulesFile == "" {
		*rulesFile = filepath.Join(*configDir, screening.RulesFile)
	}
	engine, err := replayEngine(*configDir, *rulesFile, log)
	if err != nil {
		return err
	}
	defer engine.Close()
	db, err := postgres.Open(ctx, dbURL, postgres.WithLogger(log))
	if err != nil {
		return err
	}
	defer db.Close()
	rep := replayReport{Since: from, RulesVersion: engine.RulesVersion(), Transitions: map[string]int{}, RuleHits: map[string][2]int{}}
	f := firewall.AuditFilter{TenantID: *tenantID, Since: from, Limit: 1000}
	for {
		recs, next, err := db.FirewallAudit().List(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if !strings.HasSuffix(r.ID, "/decide") || r.Screen == nil || r.Screen.Verdict == nil {
				continue // later decisions (reviews, releases) are people's and time's, not the rules'
			}
			after, err := engine.Rescreen(*r.Screen)
			if err != nil {
				return fmt.Errorf("replay %s: %w", r.MessageID, err)
			}
			rep.add(r, after, *examples)
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(rep)
	}
	rep.format(out)
	return nil
}

func (rep *replayReport) add(r firewall.AuditRecord, after firewall.Screen, examples int) {
	rep.Decisions++
	for _, h := range r.Screen.Rules {
		c := rep.RuleHits[h.Name]
		c[0]++
		rep.RuleHits[h.Name] = c
	}
	for _, h := range after.Rules {
		c := rep.RuleHits[h.Name]
		c[1]++
		rep.RuleHits[h.Name] = c
	}
	before, now := r.Screen.Verdict.Decision, after.Verdict.Decision
	if before == now {
		return
	}
	rep.Changed++
	rep.Transitions[before+"→"+now]++
	if len(rep.Examples) < examples {
		rep.Examples = append(rep.Examples, replayChange{MessageID: r.MessageID, TenantID: r.TenantID,
			Before: before, After: now, Explanation: after.Verdict.Explanation})
	}
}

func (rep *replayReport) format(out io.Writer) {
	fmt.Fprintf(out, "replayed %d decisions since %s under rules %s: %d would change\n",
		rep.Decisions, rep.Since.Format(time.RFC3339), rep.RulesVersion, rep.Changed)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if len(rep.Transitions) > 0 {
		fmt.Fprintln(tw, "\nchange\tmessages")
		for _, k := range sortedKeys(rep.Transitions) {
			fmt.Fprintf(tw, "%s\t%d\n", k, rep.Transitions[k])
		}
	}
	if len(rep.RuleHits) > 0 {
		fmt.Fprintln(tw, "\nrule\tmatched before\tmatched now")
		for _, k := range sortedKeys(rep.RuleHits) {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", k, rep.RuleHits[k][0], rep.RuleHits[k][1])
		}
	}
	if len(rep.Examples) > 0 {
		fmt.Fprintln(tw, "\nmessage\tbefore\tnow\twhy")
		for _, c := range rep.Examples {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.MessageID, c.Before, c.After, c.Explanation)
		}
	}
	_ = tw.Flush()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// replayEngine is an engine over the rule set to try. Its own stores are in memory
// and never used: Rescreen takes velocity and reputation as recorded.
func replayEngine(configDir, rulesFile string, log *slog.Logger) (*screening.Engine, error) {
	settings, err := screening.LoadSettings(configDir)
	if err != nil {
		return nil, err
	}
	set, err := rules.Load(rulesFile)
	if err != nil {
		return nil, err
	}
	patterns, err := dpi.LoadPatterns(filepath.Join(configDir, screening.PatternsFile))
	if err != nil {
		return nil, err
	}
	var m *model.Model
	if settings.Model.Mode != screening.ModelOff {
		if m, err = model.Load(filepath.Join(configDir, settings.Model.File)); err != nil {
			return nil, err
		}
	}
	mem := inmem.New()
	return screening.New(screening.Config{
		Settings: settings, Rules: screening.StaticRules{Set: set}, Patterns: patterns, Model: m,
		Velocity: velocity.NewMemory(), Reputation: mem.FirewallReputation(), Reviews: mem.FirewallReviews(), Audit: mem.FirewallAudit(),
		Logger: log,
	})
}

// parseSince reads a duration back from now or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("firewall replay: --since is required (1h, or an RFC 3339 time)")
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("firewall replay: --since %q is neither a duration (1h) nor RFC 3339", s)
	}
	return t, nil
}
