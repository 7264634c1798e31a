package wallet_test

import (
	"testing"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/wallet"
	"github.com/catalyst-cpaas/catalyst/internal/wallet/wallettest"
)

func TestMemory(t *testing.T) {
	wallettest.Run(t, func(t *testing.T, now func() time.Time) wallet.Wallet { return wallet.NewMemory(now) })
}
