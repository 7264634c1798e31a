package batch_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/batch"
)

// Concurrent adds share flushes, every item is flushed once, and each caller gets
// its flush's error.
func TestConcurrentAddsShareFlushes(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var flushes int
	seen := map[int]int{}
	b := batch.New(16, 5*time.Millisecond, func(_ context.Context, items []int) error {
		mu.Lock()
		defer mu.Unlock()
		flushes++
		for _, it := range items {
			seen[it]++
		}
		if items[0] < 0 {
			return errors.New("refused")
		}
		return nil
	})
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			if err := b.Add(context.Background(), i); err != nil {
				t.Errorf("Add(%d): %v", i, err)
			}
		})
	}
	wg.Wait()
	mu.Lock()
	if len(seen) != 200 || flushes >= 200 {
		t.Errorf("%d items in %d flushes; want all 200, in fewer flushes", len(seen), flushes)
	}
	for it, n := range seen {
		if n != 1 {
			t.Errorf("item %d flushed %d times", it, n)
		}
	}
	mu.Unlock()
	if err := b.Add(context.Background(), -1); err == nil || err.Error() != "refused" {
		t.Errorf("Add of a refused item: %v, want the flush's error", err)
	}
	b.Close()
	if err := b.Add(context.Background(), 500); err != nil { // after Close: flushed alone
		t.Errorf("Add after Close: %v", err)
	}
}

// A serial Batcher never runs more flushes at once than allowed, gathers what
// arrives meanwhile into the next one, and flushes every item once.
func TestSerialBoundsConcurrentFlushes(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	running, most, flushes := 0, 0, 0
	seen := map[int]int{}
	b := batch.NewSerial(8, time.Millisecond, 1, func(_ context.Context, items []int) error {
		mu.Lock()
		running++
		most = max(most, running)
		flushes++
		for _, it := range items {
			seen[it]++
		}
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	})
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Go(func() {
			if err := b.Add(context.Background(), i); err != nil {
				t.Errorf("Add(%d): %v", i, err)
			}
		})
	}
	wg.Wait()
	b.Close()
	mu.Lock()
	defer mu.Unlock()
	if most != 1 {
		t.Errorf("%d flushes ran at once; want 1", most)
	}
	if len(seen) != 500 || flushes >= 500/8 {
		t.Errorf("%d items in %d flushes; want all 500, in fewer than %d flushes", len(seen), flushes, 500/8)
	}
	for it, n := range seen {
		if n != 1 {
			t.Errorf("item %d flushed %d times", it, n)
		}
	}
}
