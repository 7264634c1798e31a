package inmem_test

import (
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/storetest"
)

func TestFirewallReputation(t *testing.T) {
	t.Parallel()
	storetest.ReputationStore(t, func(t *testing.T, now func() time.Time) firewall.ReputationStore {
		return inmem.New(inmem.WithClock(now)).FirewallReputation()
	})
}

func TestFirewallReviews(t *testing.T) {
	t.Parallel()
	storetest.Reviews(t, func(t *testing.T, now func() time.Time) firewall.Reviews {
		return inmem.New(inmem.WithClock(now)).FirewallReviews()
	})
}

func TestFirewallAudit(t *testing.T) {
	t.Parallel()
	storetest.Audit(t, func(t *testing.T, now func() time.Time) firewall.Audit {
		return inmem.New(inmem.WithClock(now)).FirewallAudit()
	})
}

// TestFirewallStandalone: the constructors work without a DB, with their own clock.
func TestFirewallStandalone(t *testing.T) {
	t.Parallel()
	storetest.Reviews(t, func(t *testing.T, now func() time.Time) firewall.Reviews { return inmem.NewReviewStore(now) })
}

// TestFirewallStoresShared: a DB hands out the same firewall stores each time, and
// two DBs do not share them.
func TestFirewallStoresShared(t *testing.T) {
	t.Parallel()
	db, other := inmem.New(), inmem.New()
	if db.FirewallReputation() != db.FirewallReputation() || db.FirewallReviews() != db.FirewallReviews() ||
		db.FirewallAudit() != db.FirewallAudit() {
		t.Fatal("a DB returned different firewall store instances")
	}
	if db.FirewallReputation() == other.FirewallReputation() || db.FirewallAudit() == other.FirewallAudit() {
		t.Fatal("two DBs share a firewall store")
	}
}
