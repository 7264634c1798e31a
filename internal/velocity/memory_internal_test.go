package velocity

import (
	"context"
	"fmt"
	"testing"
	"time"
)

var start = time.Date(2031, 5, 6, 9, 0, 0, 0, time.UTC)

func senders(m *Memory) (n, withHourMaps int) {
	for i := range m.senders {
		sh := &m.senders[i]
		sh.mu.Lock()
		for _, s := range sh.m {
			n++
			if s.dests != nil {
				withHourMaps++
			}
		}
		sh.mu.Unlock()
	}
	return n, withHourMaps
}

func sweepAll(m *Memory, now time.Time) {
	for i := range m.senders {
		sh := &m.senders[i]
		sh.mu.Lock()
		sh.latest = max(sh.latest, now.UnixMilli())
		sh.sweep(m.cfg)
		sh.mu.Unlock()
	}
}

// TestMemorySweep checks that what no longer counts is dropped: hour maps once the
// hour is over, senders once idle for longer than NewDestinationWindow.
func TestMemorySweep(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	observe := func(sender string, at time.Time) Counts {
		t.Helper()
		c, err := m.Observe(ctx, Observation{MessageID: fmt.Sprint(sender, at.UnixNano()), TenantID: "t", Sender: sender, Destination: "447700900001", At: at})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for i := range 200 {
		observe(fmt.Sprint("old", i), start)
	}
	sweepAll(m, start.Add(59*time.Minute))
	if n, maps := senders(m); n != 200 || maps != 200 {
		t.Fatalf("within the hour: %d senders, %d with hour maps; want 200, 200", n, maps)
	}
	observe("recent", start.Add(NewDestinationWindow-time.Hour))
	sweepAll(m, start.Add(2*time.Hour))
	if n, maps := senders(m); n != 201 || maps != 1 {
		t.Fatalf("2 hours on: %d senders, %d with hour maps; want 201, 1", n, maps)
	}
	// A sender whose hour maps were dropped still counts from zero in a new hour and
	// still knows its destinations.
	c := observe("old7", start.Add(3*time.Hour))
	if c.SenderPerMinute != 1 || c.UniqueDestinationsPerHour != 1 || c.NewDestination {
		t.Errorf("after the sweep: %+v, want 1 message, 1 destination, not new", c)
	}
	sweepAll(m, start.Add(NewDestinationWindow+time.Second))
	if n, _ := senders(m); n != 2 {
		t.Fatalf("30 days on: %d senders, want 2 (recent and old7)", n)
	}
	if c := observe("old8", start.Add(NewDestinationWindow+2*time.Second)); !c.NewDestination {
		t.Errorf("a swept sender's destination is not new: %+v", c)
	}
}

// TestMemorySweepRuns checks the sweep runs by itself every sweepEvery observations of
// a shard.
func TestMemorySweepRuns(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	if _, err := m.Observe(ctx, Observation{MessageID: "x", TenantID: "t", Sender: "idle", At: start}); err != nil {
		t.Fatal(err)
	}
	// Busy senders of the idle one's shard.
	shard := m.hash2("t", "idle") % memShards
	var busy []string
	for i := 0; len(busy) < 3; i++ {
		if s := fmt.Sprint("busy", i); m.hash2("t", s)%memShards == shard {
			busy = append(busy, s)
		}
	}
	later := start.Add(NewDestinationWindow + time.Hour)
	for i := range sweepEvery {
		if _, err := m.Observe(ctx, Observation{MessageID: fmt.Sprint(i), TenantID: "t", Sender: busy[i%len(busy)], At: later}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range m.senders {
		if _, ok := m.senders[i].m[senderKey{"t", "idle"}]; ok {
			t.Fatal("the idle sender was not swept")
		}
	}
}

// TestMemoryAllocs: a steady-state Observe (known sender, new message) does not
// allocate.
func TestMemoryAllocs(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	ids := make([]string, 2000)
	for i := range ids {
		ids[i] = fmt.Sprint("m", i)
	}
	o := Observation{TenantID: "t", Sender: "s", Destination: "447700900001", At: start}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		o.MessageID = ids[i]
		o.At = o.At.Add(time.Millisecond)
		i++
		if _, err := m.Observe(ctx, o); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("Observe allocates %.1f times per call", allocs)
	}
}
