package firewall_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
)

var bg = context.Background()

// counting wraps a real store and counts the Standings calls that reach it; during,
// when set, runs inside each such call (after the store answered).
type counting struct {
	firewall.ReputationStore
	calls  atomic.Int64
	during func()
}

func (c *counting) Standings(ctx context.Context, tenantID string, keys []firewall.ReputationKey, t time.Time) (map[firewall.ReputationKey]firewall.Standing, error) {
	c.calls.Add(1)
	got, err := c.ReputationStore.Standings(ctx, tenantID, keys, t)
	if c.during != nil {
		c.during()
	}
	return got, err
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newCache(t *testing.T) (*firewall.ReputationCache, *counting, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)}
	store := &counting{ReputationStore: inmem.NewReputationStore(clk.now)}
	return firewall.NewReputationCache(store, time.Minute, clk.now), store, clk
}

func standings(t *testing.T, c firewall.ReputationStore, tenant string, keys ...firewall.ReputationKey) map[firewall.ReputationKey]firewall.Standing {
	t.Helper()
	got, err := c.Standings(bg, tenant, keys, time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC))
	if err != nil {
		t.Fatalf("Standings: %v", err)
	}
	return got
}

func wantCalls(t *testing.T, s *counting, want int64) {
	t.Helper()
	if got := s.calls.Load(); got != want {
		t.Fatalf("store read %d times, want %d", got, want)
	}
}

func dom(v string) firewall.ReputationKey {
	return firewall.ReputationKey{Kind: firewall.KindDomain, Value: v}
}

func add(t *testing.T, c firewall.ReputationStore, e firewall.ReputationEntry) firewall.ReputationEntry {
	t.Helper()
	got, err := c.Add(bg, e)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return got
}

func TestCacheServesHitsAndAbsencesForTTL(t *testing.T) {
	t.Parallel()
	c, store, clk := newCache(t)
	if _, err := store.Add(bg, firewall.ReputationEntry{TenantID: "t1", Kind: firewall.KindDomain, Value: "bad.example", List: firewall.ListBlock}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got := standings(t, c, "t1", dom("bad.example"), dom("clean.example"), dom(" BAD.example"))
		if got[dom("bad.example")].Score != 100 || got[dom(" BAD.example")].Score != 100 || len(got) != 2 {
			t.Fatalf("Standings = %v", got)
		}
	}
	wantCalls(t, store, 1)
	// Another tenant is cached apart.
	if got := standings(t, c, "t2", dom("bad.example")); len(got) != 0 {
		t.Fatalf("t2 sees t1's entry: %v", got)
	}
	wantCalls(t, store, 2)
	// Changes made behind the cache's back (another replica) show after ttl.
	if _, err := store.Add(bg, firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "clean.example", List: firewall.ListComplaint}); err != nil {
		t.Fatal(err)
	}
	if got := standings(t, c, "t1", dom("clean.example")); len(got) != 0 {
		t.Fatalf("within ttl the cached absence is kept, got %v", got)
	}
	clk.advance(time.Minute)
	if got := standings(t, c, "t1", dom("clean.example")); got[dom("clean.example")].Complaints != 1 {
		t.Fatalf("after ttl: %v", got)
	}
	wantCalls(t, store, 3)
}

func TestCacheAddAndDeleteInvalidate(t *testing.T) {
	t.Parallel()
	c, store, _ := newCache(t)
	k := dom("x.example")
	standings(t, c, "t1", k)
	standings(t, c, "t2", k)
	// A global entry concerns every tenant's cached standing of the key.
	e := add(t, c, firewall.ReputationEntry{Kind: firewall.KindDomain, Value: " X.EXAMPLE", List: firewall.ListBlock, Score: 70})
	for _, tenant := range []string{"t1", "t2"} {
		if got := standings(t, c, tenant, k); got[k].Score != 70 {
			t.Fatalf("%s after Add: %v", tenant, got)
		}
	}
	wantCalls(t, store, 4)
	if err := c.Delete(bg, e.ID); err != nil {
		t.Fatal(err)
	}
	if got := standings(t, c, "t1", k); len(got) != 0 {
		t.Fatalf("after Delete: %v", got)
	}
	if err := c.Delete(bg, e.ID); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := c.Add(bg, firewall.ReputationEntry{Kind: "ip"}); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("bad Add: %v", err)
	}
	list, err := c.List(bg, "", "", 0)
	if err != nil || len(list) != 0 {
		t.Fatalf("List = %v, %v", list, err)
	}
}

// TestCacheMissRacingAnAdd: a standing read before an Add, and returned after it, is
// not kept: the next call reads the store again and sees the entry.
func TestCacheMissRacingAnAdd(t *testing.T) {
	t.Parallel()
	c, store, _ := newCache(t)
	k := dom("race.example")
	store.during = func() {
		store.during = nil
		add(t, c, firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "race.example", List: firewall.ListBlock})
	}
	if got := standings(t, c, "t1", k); len(got) != 0 {
		t.Fatalf("the racing read = %v, want what it read before the Add", got)
	}
	if got := standings(t, c, "t1", k); got[k].Score != 100 {
		t.Fatalf("after the Add: %v", got)
	}
}

func TestCacheIsBounded(t *testing.T) {
	t.Parallel()
	c, _, _ := newCache(t)
	keys := make([]firewall.ReputationKey, 1000)
	const distinct = firewall.DefaultReputationCacheSize * 11 / 10
	for i := range distinct / len(keys) {
		for j := range keys {
			keys[j] = dom(fmt.Sprintf("d%d-%d.example", i, j))
		}
		standings(t, c, "t1", keys...)
	}
	if n := c.Len(); n > firewall.DefaultReputationCacheSize || n < firewall.DefaultReputationCacheSize/2 {
		t.Fatalf("Len = %d after %d distinct keys, want at most %d and most of it used", n, distinct, firewall.DefaultReputationCacheSize)
	}
}

func TestCacheConcurrentAddsAndReads(t *testing.T) {
	t.Parallel()
	c, _, _ := newCache(t)
	k := dom("busy.example")
	const adds = 30
	var wg sync.WaitGroup
	wg.Go(func() {
		for range adds {
			if _, err := c.Add(bg, firewall.ReputationEntry{TenantID: "t1", Kind: firewall.KindDomain, Value: "busy.example",
				List: firewall.ListComplaint, Score: 1}); err != nil {
				t.Errorf("Add: %v", err)
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			last := 0
			for range 200 {
				got, err := c.Standings(bg, "t1", []firewall.ReputationKey{k, dom("other.example")}, time.Now())
				if err != nil {
					t.Errorf("Standings: %v", err)
					return
				}
				if n := got[k].Complaints; n < last {
					t.Errorf("complaints went from %d to %d", last, n)
				} else {
					last = n
				}
			}
		})
	}
	wg.Wait()
	if got := standings(t, c, "t1", k); got[k].Complaints != adds {
		t.Fatalf("after the adds: %v", got)
	}
}

func TestValidateReputationEntry(t *testing.T) {
	t.Parallel()
	got, err := firewall.ValidateReputationEntry(firewall.ReputationEntry{Kind: firewall.KindNumber, Value: " +44 (7700) 900-123 ", List: firewall.ListCarrier})
	if err != nil || got.Value != "447700900123" || got.Score != 20 {
		t.Fatalf("Validate = %+v, %v", got, err)
	}
	_, err = firewall.ValidateReputationEntry(firewall.ReputationEntry{Kind: "x", List: "y", Score: -3})
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields) != 4 {
		t.Fatalf("Validate of four bad fields = %v", err)
	}
}

// BenchmarkReputationCacheHit: one screening's lookup (sender, number, two domains),
// all cached, from every core.
func BenchmarkReputationCacheHit(b *testing.B) {
	c := firewall.NewReputationCache(inmem.NewReputationStore(nil), time.Hour, nil)
	keys := []firewall.ReputationKey{{Kind: firewall.KindSender, Value: "BANK"}, {Kind: firewall.KindNumber, Value: "447700900123"},
		dom("phish.example"), dom("bit.ly")}
	if _, err := c.Add(bg, firewall.ReputationEntry{Kind: firewall.KindDomain, Value: "phish.example", List: firewall.ListBlock}); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	if _, err := c.Standings(bg, "t1", keys, now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			got, err := c.Standings(bg, "t1", keys, now)
			if err != nil || got[keys[2]].Score != 100 {
				b.Fatalf("Standings = %v, %v", got, err)
			}
		}
	})
}
