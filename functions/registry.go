// Package functions lists every Catalyst function. Adding a function means adding its
// Definition here, a Service in knative/ (make manifests) and its scaling policy in
// config/scaling.yaml; the manifest tests fail until all three agree.
package functions

import (
	"github.com/catalyst-cpaas/catalyst/functions/authorize"
	"github.com/catalyst-cpaas/catalyst/functions/billing"
	"github.com/catalyst-cpaas/catalyst/functions/deadletter"
	"github.com/catalyst-cpaas/catalyst/functions/echo"
	"github.com/catalyst-cpaas/catalyst/functions/firewall"
	"github.com/catalyst-cpaas/catalyst/functions/messagerecord"
	"github.com/catalyst-cpaas/catalyst/functions/smssend"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
)

// Registry returns the registry of every function.
func Registry() (*fn.Registry, error) {
	defs := []fn.Definition{
		deadletter.Definition(),
		echo.Definition(),
		messagerecord.Definition(),
		smssend.Definition(),
		authorize.Definition(),
	}
	defs = append(defs, firewall.Definitions()...)
	return fn.NewRegistry(append(defs, billing.Definitions()...)...)
}
