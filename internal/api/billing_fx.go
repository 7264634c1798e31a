package api

import (
	"net/http"
	"regexp"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
	"github.com/catalyst-cpaas/catalyst/internal/ledger"
)

const maxBillingBody = 16 << 10

// fxInput is the body of POST /api/v2/fx-rates.
type fxInput struct {
	From      string     `json:"from"`
	To        string     `json:"to"`
	Rate      jsonAmount `json:"rate"`
	ValidFrom string     `json:"valid_from,omitempty"` // RFC 3339; default now
}

func (s *Server) fxStore(w http.ResponseWriter, r *http.Request) billing.FXRates {
	if s.opts.FXRates == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "FX rates not configured"))
	}
	return s.opts.FXRates
}

// checkCurrency records a problem with an ISO 4217 code (any code ledger accepts:
// JPY, KWD and XAU price as well as EUR).
func checkCurrency(f *fieldErrors, field, code string) {
	if err := ledger.CheckCurrency(code); err != nil {
		f.add(field, "must be an ISO 4217 currency code in upper case, such as EUR or JPY")
	}
}

func (s *Server) putFXRate(w http.ResponseWriter, r *http.Request) {
	store := s.fxStore(w, r)
	if store == nil {
		return
	}
	var in fxInput
	body, err := readBody(w, r, maxBillingBody)
	if err == nil {
		err = decodeJSON(body, &in)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var f fieldErrors
	checkCurrency(&f, "from", in.From)
	checkCurrency(&f, "to", in.To)
	if in.From != "" && in.From == in.To {
		f.add("to", "must differ from from: a currency converts to itself at 1")
	}
	rate := in.Rate.parse(&f, "rate", true, decimal.Zero)
	validFrom := parseTime(&f, "valid_from", in.ValidFrom)
	if err := f.err("FX rate"); err != nil {
		s.writeError(w, r, err)
		return
	}
	fx := billing.FXRate{From: in.From, To: in.To, Rate: rate, ValidFrom: s.opts.Now()}
	if validFrom != nil {
		fx.ValidFrom = *validFrom
	}
	fx, err = store.Put(r.Context(), fx)
	if err != nil {
		s.writeError(w, r, unprocessable(err))
		return
	}
	s.opts.Logger.InfoContext(r.Context(), "fx rate stored", "from", fx.From, "to", fx.To, "rate", ledger.Format(fx.Rate), "valid_from", fx.ValidFrom)
	writeJSON(w, http.StatusCreated, fx)
}

// getFXRate answers the rate in force at ?at= (default now).
func (s *Server) getFXRate(w http.ResponseWriter, r *http.Request) {
	store := s.fxStore(w, r)
	if store == nil {
		return
	}
	var f fieldErrors
	from, to := r.PathValue("from"), r.PathValue("to")
	checkCurrency(&f, "from", from)
	checkCurrency(&f, "to", to)
	at := s.opts.Now()
	if t := parseTime(&f, "at", r.URL.Query().Get("at")); t != nil {
		at = *t
	}
	if err := f.err("FX query"); err != nil {
		s.writeError(w, r, err)
		return
	}
	fx, err := store.Rate(r.Context(), from, to, at)
	if err != nil {
		s.writeError(w, r, unprocessable(err))
		return
	}
	writeJSON(w, http.StatusOK, fx)
}

// promoCode keeps codes usable as one URL path segment.
var promoCode = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// promoInput is the body of POST /api/v2/promo-codes.
type promoInput struct {
	Code      string            `json:"code"`
	TenantID  string            `json:"tenant_id"`
	Kind      billing.PromoKind `json:"kind"`
	Value     jsonAmount        `json:"value"`
	FreeCount int64             `json:"free_count,omitempty"`
	ExpiresAt string            `json:"expires_at,omitempty"`
	MaxUses   int64             `json:"max_uses,omitempty"`
}

// validate checks everything a promo needs, each problem against its field.
func (in promoInput) validate(s *Server) (billing.Promo, error) {
	var f fieldErrors
	if !promoCode.MatchString(in.Code) {
		f.add("code", "required: 1 to 64 letters, digits, '_' or '-', starting with a letter or digit")
	}
	if in.TenantID == "" {
		f.add("tenant_id", "required")
	}
	p := billing.Promo{Code: in.Code, TenantID: in.TenantID, Kind: in.Kind, FreeCount: in.FreeCount, MaxUses: in.MaxUses}
	switch in.Kind {
	case billing.PromoFixed:
		p.Value = in.Value.parse(&f, "value", true, decimal.Zero)
	case billing.PromoPercent:
		p.Value = in.Value.parse(&f, "value", true, decimal.Zero)
		if p.Value.GreaterThan(decimal.NewFromInt(100)) {
			f.add("value", "a percentage: at most 100")
		}
	case billing.PromoFirstNFree:
		if p.Value = in.Value.parse(&f, "value", false, decimal.Zero); !p.Value.IsZero() {
			f.add("value", "must be absent or \"0\" for first_n_free: the free messages cost nothing but fees")
		}
		if in.FreeCount <= 0 {
			f.add("free_count", "required for first_n_free: how many messages are free, 1 or more")
		}
	default:
		f.add("kind", "must be fixed, percent or first_n_free")
	}
	if in.Kind != billing.PromoFirstNFree && in.FreeCount != 0 {
		f.add("free_count", "only for first_n_free")
	}
	if in.MaxUses < 0 {
		f.add("max_uses", "must be 0 (unlimited) or more")
	}
	if t := parseTime(&f, "expires_at", in.ExpiresAt); t != nil {
		if !t.After(s.opts.Now()) {
			f.add("expires_at", "must be in the future")
		}
		p.ExpiresAt = t
	}
	return p, f.err("promo code")
}

func (s *Server) promoStore(w http.ResponseWriter, r *http.Request) billing.Promos {
	if s.opts.Promos == nil || s.opts.Tenants == nil {
		s.writeError(w, r, errs.E(errs.Unavailable, "promo codes not configured"))
		return nil
	}
	return s.opts.Promos
}

func (s *Server) createPromo(w http.ResponseWriter, r *http.Request) {
	store := s.promoStore(w, r)
	if store == nil {
		return
	}
	var in promoInput
	body, err := readBody(w, r, maxBillingBody)
	if err == nil {
		err = decodeJSON(body, &in)
	}
	var p billing.Promo
	if err == nil {
		p, err = in.validate(s)
	}
	if err == nil {
		err = s.checkTenant(r, "tenant_id", p.TenantID)
	}
	if err == nil {
		p, err = store.Create(r.Context(), p)
	}
	if err != nil {
		s.writeError(w, r, unprocessable(err))
		return
	}
	s.opts.Logger.InfoContext(r.Context(), "promo code created", "code", p.Code, "tenant_id", p.TenantID, "kind", p.Kind)
	w.Header().Set("Location", "/api/v2/promo-codes/"+p.Code)
	writeJSON(w, http.StatusCreated, p)
}

func (s *Server) getPromo(w http.ResponseWriter, r *http.Request) {
	store := s.promoStore(w, r)
	if store == nil {
		return
	}
	p, err := store.Get(r.Context(), r.PathValue("code"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
