package velocity_test

import (
	"testing"

	"github.com/catalyst-cpaas/catalyst/internal/testenv"
	"github.com/catalyst-cpaas/catalyst/internal/velocity"
	"github.com/catalyst-cpaas/catalyst/internal/velocity/velocitytest"
)

func TestMemory(t *testing.T) {
	velocitytest.Run(t, func(t *testing.T) velocity.Counter { return velocity.NewMemory() })
}

func TestRedis(t *testing.T) {
	velocitytest.Run(t, func(t *testing.T) velocity.Counter {
		client, prefix := testenv.Redis(t)
		return velocity.NewRedis(client, prefix)
	})
}
