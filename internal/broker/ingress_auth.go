package broker

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

// IngressAuth says whose events the HTTP ingress stores. Every request presents one
// credential in Authorization: Bearer: the platform token, which may post any type,
// or a tenant's API key, which may post only the types integrators may post
// (catalog.IntegratorsMayPost) and only with its own tenant as tenantid. Functions
// run in-process emit through an Emitter and never pass here.
type IngressAuth struct {
	// PlatformToken is the platform's own credential (CATALYST_PLATFORM_TOKEN), held
	// by the function pods that post to the ingress; empty accepts no platform token.
	PlatformToken string
	// Tenants resolves API keys (tenant.AuthenticateKey, as the REST API does); nil
	// accepts no API key.
	Tenants tenant.Store
	// Now is the clock keys expire by (nil: time.Now).
	Now func() time.Time
}

// MinPlatformTokenLen is the shortest platform token accepted: it guards every
// internal event type, so it must not be guessable (e.g. openssl rand -hex 32).
const MinPlatformTokenLen = 32

// CheckPlatformToken rejects a platform token too short to be secret; empty is
// allowed (no platform token: nothing over HTTP may post the platform's types).
func CheckPlatformToken(token string) error {
	if token != "" && len(token) < MinPlatformTokenLen {
		return errs.E(errs.Invalid, "CATALYST_PLATFORM_TOKEN: %d characters, want at least %d (e.g. openssl rand -hex 32)", len(token), MinPlatformTokenLen)
	}
	return nil
}

// principal is who posted: the platform, or one tenant.
type principal struct {
	platform bool
	tenant   tenant.Tenant
}

// authenticate resolves the request's bearer credential, before the body is read.
func (a *IngressAuth) authenticate(ctx context.Context, req *http.Request) (principal, *errs.Error) {
	token, ok := tenant.BearerToken(req.Header.Get("Authorization")) // as the REST API reads it
	if !ok {
		return principal{}, errs.E(errs.Unauthenticated, "missing Authorization: Bearer <API key or platform token>")
	}
	if a.PlatformToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(a.PlatformToken)) == 1 {
		return principal{platform: true}, nil
	}
	if a.Tenants == nil {
		return principal{}, errs.E(errs.Unauthenticated, "invalid credential: this ingress takes only the platform token")
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	t, _, err := tenant.AuthenticateKey(ctx, a.Tenants, token, now())
	if err != nil {
		return principal{}, asError(err, "authenticate API key")
	}
	return principal{tenant: t}, nil
}

// authorize decides whether p may post e. An integrator's catalogued event that
// belongs to a tenant (message.requested) must also pass the catalogue
// (catalog.Validate), which ties the data's tenant_id to the tenantid extension:
// billing charges the tenant the data names.
func (p principal) authorize(e *event.Event) *errs.Error {
	if p.platform {
		return nil
	}
	if !catalog.IntegratorsMayPost(e.Type()) {
		return errs.E(errs.PermissionDenied, "type %s is the platform's own: an API key may post only %s and types outside %s*",
			e.Type(), strings.Join(integratorTypes(), ", "), catalog.TypePrefix)
	}
	got, _ := types.ToString(e.Extensions()[catalog.ExtTenantID])
	switch {
	case got == "":
		return errs.E(errs.PermissionDenied, "tenantid missing: an event posted with an API key must carry tenantid %q, the key's tenant", p.tenant.ID)
	case got != p.tenant.ID:
		return errs.E(errs.PermissionDenied, "tenantid %q is not the API key's tenant %q", got, p.tenant.ID)
	}
	if tenantBound(e.Type()) {
		if err := catalog.Validate(*e); err != nil {
			return asError(err, "validate "+e.Type())
		}
	}
	return nil
}

// externalReply refuses a reply from a uri subscriber (an integrator's webhook) that
// a credential-less sender may not publish: the platform's own types, and catalogued
// types bound to a tenant (message.requested), since nothing proves the tenant. The
// replies of the platform's functions (in-process or served over loopback) pass.
func externalReply(t target, reply *event.Event) *errs.Error {
	h, ok := t.(*httpTarget)
	if !ok || !h.external {
		return nil
	}
	if !catalog.IntegratorsMayPost(reply.Type()) {
		return errs.E(errs.PermissionDenied, "type %s is the platform's own; a subscriber's reply may not carry it", reply.Type())
	}
	if tenantBound(reply.Type()) {
		return errs.E(errs.PermissionDenied, "a subscriber's reply may not carry %s: no credential names its tenant (post it with an API key, or use the HTTP API)", reply.Type())
	}
	return nil
}

// tenantBound reports whether typ is catalogued with a required tenantid: its data
// names the tenant that billing charges.
func tenantBound(typ string) bool {
	entry, ok := catalog.Lookup(typ)
	return ok && slices.Contains(entry.Extensions, catalog.ExtTenantID)
}

// integratorTypes lists the catalogued types an API key may post, for refusals.
func integratorTypes() []string {
	var out []string
	for _, e := range catalog.Entries() {
		if e.PostedBy() == catalog.PostedByIntegrators {
			out = append(out, e.Type)
		}
	}
	return out
}

// asError keeps an *errs.Error as it is; anything else is Internal, its detail kept
// out of the answer.
func asError(err error, doing string) *errs.Error {
	var e *errs.Error
	if errors.As(err, &e) {
		return e
	}
	return errs.Wrap(errs.Internal, err, "%s", doing)
}
