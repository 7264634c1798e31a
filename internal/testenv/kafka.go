package testenv

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// WaitCaughtUp waits until every consumer group has committed the end of topic on
// every partition: every event stored so far has reached a final state for it. This
// is how a test knows "nothing more will arrive" without sleeping.
func WaitCaughtUp(t testing.TB, seeds []string, topic string, groups ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	WaitFor(t, "consumer groups to commit the end of "+topic, func() bool {
		ok, err := caughtUp(context.Background(), adm, topic, groups)
		if err != nil {
			t.Logf("checking offsets: %v", err)
		}
		return ok
	})
}

func caughtUp(ctx context.Context, adm *kadm.Client, topic string, groups []string) (bool, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return false, err
	}
	for _, g := range groups {
		committed, err := adm.FetchOffsetsForTopics(ctx, g, topic)
		if errors.Is(err, kerr.GroupIDNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		done := true
		ends.Each(func(o kadm.ListedOffset) {
			if c, ok := committed.Lookup(topic, o.Partition); !ok || c.At < o.Offset {
				done = false
			}
		})
		if !done {
			return false, nil
		}
	}
	return true, nil
}
