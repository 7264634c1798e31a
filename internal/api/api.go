// Package api is Catalyst's public HTTP API (on `catalyst dev --api-addr`): tenants and
// their API keys (admin), the messages API (tenant), health, metrics and the OpenAPI
// document. Handlers decode and validate at the edge, call the stores and the broker,
// and map every error once, through internal/errs.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/idempotency"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
	"github.com/catalyst-cpaas/catalyst/internal/message"
	"github.com/catalyst-cpaas/catalyst/internal/numbers"
	"github.com/catalyst-cpaas/catalyst/internal/ratelimit"
	"github.com/catalyst-cpaas/catalyst/internal/screening"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
)

// Emitter posts an event to the broker (in-process in catalyst dev, the broker ingress
// in a cluster); it returns once the broker has stored it.
type Emitter interface {
	Emit(ctx context.Context, e event.Event) error
}

// Options wire the API. Gatherer serves /metrics; the stores and Emitter serve the
// tenant and message endpoints (which answer 503 while one they need is missing).
type Options struct {
	Gatherer    prometheus.Gatherer
	Tenants     tenant.Store
	Messages    message.Store
	Idempotency idempotency.Store
	Ledger      ledger.Store
	Numbers     numbers.Store
	Emitter     Emitter
	// The billing stores serve the rate-card, FX, promo-code and transactions
	// endpoints. Billing, when set, answers balances from its wallet and tops up
	// through it (so a top-up can reinstate a suspended tenant); without it balances
	// are read from Ledger.
	RateCards billing.RateCards
	FXRates   billing.FXRates
	Promos    billing.Promos
	Charges   billing.Charges
	Billing   *charging.Engine
	// Firewall serves the reputation, review-queue and decision endpoints.
	Firewall *screening.Engine
	// Limiter and Limits throttle sending (429 with Retry-After); a nil Limiter sends
	// unthrottled.
	Limiter ratelimit.Limiter
	Limits  Limits
	// AdminToken authorises the /api/v2/tenants endpoints (Authorization: Bearer).
	AdminToken string
	// KeyGrace is how long a rotated-away API key keeps working (default 24h).
	KeyGrace time.Duration
	// IdempotencyTTL is how long an Idempotency-Key is remembered (default 24h).
	IdempotencyTTL time.Duration
	Logger         *slog.Logger
	Now            func() time.Time
}

// Server routes the API.
type Server struct {
	opts  Options
	mux   *http.ServeMux
	ready atomic.Bool
}

// New returns the API.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KeyGrace == 0 {
		o.KeyGrace = 24 * time.Hour
	}
	if o.IdempotencyTTL == 0 {
		o.IdempotencyTTL = 24 * time.Hour
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.NewRegistry()
	}
	s := &Server{opts: o, mux: http.NewServeMux()}
	for _, r := range s.routes() {
		s.mux.Handle(r.method+" "+r.pattern, routed(r.handler))
	}
	return s
}

// route is one endpoint; the same table registers the mux and is checked against the
// OpenAPI document in tests.
type route struct {
	method, pattern string
	handler         http.Handler
}

func (s *Server) routes() []route {
	return []route{
		{"GET", "/healthz", http.HandlerFunc(s.healthz)},
		{"GET", "/metrics", promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{})},
		{"GET", "/api/openapi.json", http.HandlerFunc(serveOpenAPI)},
		{"POST", "/api/v2/tenants", s.admin(s.createTenant)},
		{"GET", "/api/v2/tenants/{id}", s.adminOrSelf("id", s.getTenant)},
		{"PUT", "/api/v2/tenants/{id}", s.admin(s.updateTenant)},
		{"DELETE", "/api/v2/tenants/{id}", s.admin(s.deleteTenant)},
		{"POST", "/api/v2/tenants/{id}/api-keys", s.adminOrSelf("id", s.rotateKey)},
		{"GET", "/api/v2/tenants/{id}/numbers", s.adminOrSelf("id", s.listNumbers)},
		{"POST", "/api/v2/tenants/{id}/numbers", s.admin(s.assignNumber)},
		{"DELETE", "/api/v2/tenants/{id}/numbers/{channel}/{number}", s.admin(s.releaseNumber)},
		{"GET", "/api/v2/balances/{tenant_id}", s.adminOrSelf("tenant_id", s.getBalance)},
		{"PUT", "/api/v2/balances/{tenant_id}/settings", s.admin(s.putBalanceSettings)},
		{"POST", "/api/v2/balances/{tenant_id}/topup", s.admin(s.topup)},
		{"POST", "/api/v2/rate-cards", s.admin(s.createRateCard)},
		{"GET", "/api/v2/rate-cards", s.admin(s.listRateCards)},
		{"GET", "/api/v2/rate-cards/{id}", s.admin(s.getRateCard)},
		{"PUT", "/api/v2/rate-cards/{id}", s.admin(s.updateRateCard)},
		{"POST", "/api/v2/fx-rates", s.admin(s.putFXRate)},
		{"GET", "/api/v2/fx-rates/{from}/{to}", s.admin(s.getFXRate)},
		{"POST", "/api/v2/promo-codes", s.admin(s.createPromo)},
		{"GET", "/api/v2/promo-codes/{code}", s.admin(s.getPromo)},
		{"POST", "/api/v2/transactions/list", s.adminOrTenant(s.listTransactions)},
		{"GET", "/api/v2/transactions/{id}", s.adminOrTenant(s.getTransaction)},
		{"POST", "/api/v2/firewall/reputation", s.adminOrTenant(s.addReputation)},
		{"GET", "/api/v2/firewall/reputation", s.adminOrTenant(s.listReputation)},
		{"GET", "/api/v2/firewall/reviews", s.adminOrTenant(s.listReviews)},
		{"GET", "/api/v2/firewall/reviews/{id}", s.adminOrTenant(s.getReview)},
		{"POST", "/api/v2/firewall/reviews/{id}/approve", s.admin(s.approveReview)},
		{"POST", "/api/v2/firewall/reviews/{id}/reject", s.admin(s.rejectReview)},
		{"GET", "/api/v2/firewall/decisions", s.adminOrTenant(s.listDecisions)},
		{"POST", "/api/v1/messages", s.tenant(s.sendMessage)},
		{"GET", "/api/v1/messages", s.tenant(s.listMessages)},
		{"GET", "/api/v1/messages/stats", s.tenant(s.messageStats)}, // a literal segment: wins over {id}
		{"GET", "/api/v1/messages/{id}", s.tenant(s.getMessage)},
		{"POST", "/api/v1/sms/send", s.tenant(s.sendSMS)},
		{"POST", "/api/v1/sms/bulk", s.tenant(s.sendBulk)},
		{"GET", "/api/v1/sms/{id}/status", s.tenant(s.smsStatus)},
		{"GET", "/api/v1/sms/history", s.tenant(s.smsHistory)},
	}
}

// SetReady flips /healthz: true once every part of the platform is serving, false
// while it drains on shutdown.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// ServeHTTP routes r. What the mux answers itself (no route: 404; a route for other
// methods: 405 with Allow; a path to clean: 307 with Location) is answered in the
// JSON error shape too; a matched route writes straight to w (routed).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(&muxAnswer{ResponseWriter: w, r: r}, r)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"starting"}`))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ok"}`))
}
