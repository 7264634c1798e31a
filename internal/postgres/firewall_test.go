package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/storetest"
)

func TestFirewallReputation(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.ReputationStore(t, func(t *testing.T, now func() time.Time) firewall.ReputationStore {
		return open(t, dbURL, now).FirewallReputation()
	})
}

func TestFirewallReviews(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.Reviews(t, func(t *testing.T, now func() time.Time) firewall.Reviews {
		return open(t, dbURL, now).FirewallReviews()
	})
}

func TestFirewallAudit(t *testing.T) {
	t.Parallel()
	dbURL := migrated(t)
	storetest.Audit(t, func(t *testing.T, now func() time.Time) firewall.Audit {
		return open(t, dbURL, now).FirewallAudit()
	})
}

// auditRec is an audit record of tenant t at at.
func auditRec(id string, at time.Time) firewall.AuditRecord {
	return firewall.AuditRecord{ID: id + "/screened", MessageID: id, TenantID: "t", At: at,
		Screen: &firewall.Screen{Verdict: &firewall.Verdict{Decision: firewall.Pass}}}
}

// TestAuditPartitions: Record creates the partitions of the current and next month
// and of the batch's months (a retry's too); a record in the default partition before its month had
// one moves into it when the partition is made, and is still listed and still
// claims its id.
func TestAuditPartitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := migrated(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO firewall_audit (id, message_id, tenant_id, at, decision, screen)
		VALUES ('early/screened', 'early', 't', '2031-08-31 23:59:59.999999+00', 'pass', '{"message":{"message_id":"early"}}');
		INSERT INTO firewall_audit_ids VALUES ('early/screened', '2031-08-31 23:59:59.999999+00')`); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2031, 7, 15, 12, 0, 0, 0, time.UTC)
	store := open(t, dbURL, func() time.Time { return now }).FirewallAudit()
	early := time.Date(2031, 8, 31, 23, 59, 59, 999999000, time.UTC)
	late := time.Date(2031, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := store.Record(ctx, auditRec("late", late), auditRec("early", early.Add(time.Hour))); err != nil {
		t.Fatalf("Record: %v", err)
	}
	rows, _ := conn.Query(ctx, `SELECT id || ' ' || tableoid::regclass::text FROM firewall_audit ORDER BY id`)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := "[early/screened firewall_audit_2031_08 late/screened firewall_audit_2031_12]"; fmt.Sprint(got) != want {
		t.Fatalf("records are in %v, want %s", got, want)
	}
	rows, _ = conn.Query(ctx, `SELECT relname::text FROM pg_class WHERE relkind = 'r' AND relname ~ '^firewall_audit_2' ORDER BY relname`)
	parts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := "[firewall_audit_2031_07 firewall_audit_2031_08 firewall_audit_2031_09 firewall_audit_2031_12]"; fmt.Sprint(parts) != want {
		t.Fatalf("partitions %v, want %s", parts, want)
	}
	recs, _, err := store.List(ctx, firewall.AuditFilter{TenantID: "t"})
	if err != nil || len(recs) != 2 || !recs[0].At.Equal(early) || recs[0].Screen.Message.ID != "early" {
		t.Fatalf("List = %+v, %v", recs, err)
	}
}

// TestAuditPartitionsConcurrently: processes meeting a new month at once each try to
// create its partition; one does, the others find it made, and every record is kept.
func TestAuditPartitionsConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := migrated(t)
	at := time.Date(2032, 3, 31, 23, 59, 59, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 8 {
		store := open(t, dbURL, func() time.Time { return at }).FirewallAudit() // a DB each: no shared memo
		wg.Go(func() {
			if err := store.Record(ctx, auditRec(fmt.Sprint("m", i), at)); err != nil {
				t.Errorf("Record %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	recs, _, err := open(t, dbURL, nil).FirewallAudit().List(ctx, firewall.AuditFilter{TenantID: "t"})
	if err != nil || len(recs) != 8 {
		t.Fatalf("List = %d records, %v; want 8", len(recs), err)
	}
}

// TestStandingsUsesKeyIndex: the Standings join reads firewall_reputation_key.
func TestStandingsUsesKeyIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := migrated(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO firewall_reputation (id, tenant_id, kind, value, list, score, created_at)
		SELECT gen_random_uuid(), 't' || (i % 50), 'domain', 'd' || i || '.example', 'blocklist', 100, now()
		FROM generate_series(1, 20000) AS i; ANALYZE firewall_reputation`); err != nil {
		t.Fatal(err)
	}
	rows, _ := conn.Query(ctx, `EXPLAIN SELECT count(*) FROM unnest('{domain,domain}'::text[], '{d1.example,d2.example}'::text[]) AS k (kind, value)
		JOIN firewall_reputation r ON r.kind = k.kind AND r.value = k.value WHERE r.tenant_id IN ('', 't1')`)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := fmt.Sprint(lines)
	if !strings.Contains(plan, "firewall_reputation_key") {
		t.Fatalf("the standings join does not use firewall_reputation_key:\n%s", plan)
	}
}

// BenchmarkAuditRecord: batches of 256 decisions with realistic screens, recorded
// from every core; ns/op is per batch, records/s is the throughput.
func BenchmarkAuditRecord(b *testing.B) {
	db, _ := benchDB(b)
	store := db.FirewallAudit()
	var seq atomic.Int64
	scr := firewall.Screen{
		Message: firewall.Message{Channel: "sms", From: "BANK", To: "447700900123", ContentType: "text",
			Text: "Your parcel is waiting, confirm delivery at http://parcel.example/x", At: time.Now()},
		Features:   firewall.Features{ValidNumber: true, Destination: "447700900123", Country: "GB", Length: 66, Segments: 1, URLCount: 1, Domains: []string{"parcel.example"}},
		Indicators: []firewall.Indicator{{Code: "dpi.keyword", Phase: firewall.PhaseDPI, Weight: 40, Detail: "confirm delivery"}},
		Done:       firewall.Phases,
		Verdict:    &firewall.Verdict{Decision: firewall.Pass, Recommended: firewall.Pass, Risk: 20, Phase: firewall.PhaseDecide, Explanation: "clean"},
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		batch := make([]firewall.AuditRecord, benchBatch)
		for pb.Next() {
			for i := range batch {
				id := fmt.Sprint("m", seq.Add(1))
				batch[i] = firewall.AuditRecord{ID: id + "/screened", MessageID: id, TenantID: fmt.Sprint("t", i%50),
					Screen: &scr, RulesVersion: "sha256:0123456789abcdef"}
			}
			if err := store.Record(context.Background(), batch...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "records/s")
}
