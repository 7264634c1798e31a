package inmem

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// ChargeStore is billing.Charges in memory: the charges by (tenant, ID), each with
// its breakdown kept as JSON, as postgres keeps it, so reads decode the same values.
type ChargeStore struct {
	now  func() time.Time
	mu   sync.Mutex
	byID map[chargeKey]*storedCharge
	// declines and repairs: billing_records.go
	declines map[declineKey]billing.Decline
	repairs  []billing.Repair
}

type chargeKey struct{ tenantID, id string }

type storedCharge struct {
	c         billing.Charge // without Breakdown
	breakdown []byte
}

var _ billing.Charges = (*ChargeStore)(nil)

func (sc *storedCharge) decode() billing.Charge {
	c := sc.c
	_ = json.Unmarshal(sc.breakdown, &c.Breakdown) // encoded by Record
	if c.SettledAt != nil {
		at := *c.SettledAt
		c.SettledAt = &at
	}
	return c
}

// Record implements billing.Charges. The batch is checked first: one bad charge
// records none.
func (s *ChargeStore) Record(_ context.Context, cs []billing.Charge) error {
	now := s.now()
	rows := make([]*storedCharge, len(cs))
	for i, c := range cs {
		c, err := billing.PrepareCharge(c, now)
		if err != nil {
			return err
		}
		b, err := json.Marshal(c.Breakdown)
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "charge %s: encode breakdown", c.ID)
		}
		c.Breakdown = billing.Breakdown{}
		c.Amount, c.Charged = money(c.Amount), money(c.Charged)
		rows[i] = &storedCharge{c: c, breakdown: b}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rows {
		k := chargeKey{r.c.TenantID, r.c.ID}
		if _, ok := s.byID[k]; !ok {
			s.byID[k] = r
		}
	}
	return nil
}

// Settle implements billing.Charges: a settlement applies only to a reserved charge
// with its tenant, ID and CreatedAt; others are skipped, as postgres skips them.
func (s *ChargeStore) Settle(_ context.Context, ss []billing.Settlement) error {
	ss, err := billing.PrepareSettlements(ss, s.now())
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range ss {
		r, ok := s.byID[chargeKey{st.TenantID, st.ID}]
		if !ok || r.c.Status != billing.ChargeReserved || !r.c.CreatedAt.Equal(st.CreatedAt) {
			continue
		}
		at := st.At
		r.c.Status, r.c.Charged, r.c.Reason, r.c.SettledAt = st.Status, money(st.Charged), st.Reason, &at
	}
	return nil
}

// Get implements billing.Charges. With tenantID "" the first charge with the ID in
// (tenant, ID) order is returned, as postgres returns it.
func (s *ChargeStore) Get(_ context.Context, tenantID, id string) (billing.Charge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tenantID != "" {
		if r, ok := s.byID[chargeKey{tenantID, id}]; ok {
			return r.decode(), nil
		}
		return billing.Charge{}, chargeNotFound(id)
	}
	var found *storedCharge
	for k, r := range s.byID {
		if k.id == id && (found == nil || k.tenantID < found.c.TenantID) {
			found = r
		}
	}
	if found == nil {
		return billing.Charge{}, chargeNotFound(id)
	}
	return found.decode(), nil
}

func chargeNotFound(id string) error { return errs.E(errs.NotFound, "transaction %s not found", id) }

// List implements billing.Charges: newest first, then ID descending byte-wise.
func (s *ChargeStore) List(_ context.Context, f billing.ChargeFilter) (billing.ChargePage, error) {
	f, cur, err := f.Normalize()
	if err != nil {
		return billing.ChargePage{}, err
	}
	s.mu.Lock()
	var hits []*storedCharge
	for _, r := range s.byID {
		c := &r.c
		if (f.TenantID != "" && c.TenantID != f.TenantID) || (f.Channel != "" && c.Channel != f.Channel) ||
			(f.Status != "" && c.Status != f.Status) || (!f.From.IsZero() && c.CreatedAt.Before(f.From)) ||
			(!f.To.IsZero() && !c.CreatedAt.Before(f.To)) || (!cur.IsZero() && !cur.Before(*c)) {
			continue
		}
		hits = append(hits, r)
	}
	sort.Slice(hits, func(i, j int) bool {
		a, b := hits[i].c, hits[j].c
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.After(b.CreatedAt)
		}
		return a.ID > b.ID
	})
	page := billing.ChargePage{Charges: []billing.Charge{}}
	for i, r := range hits {
		if i == f.Limit {
			page.NextCursor = billing.EncodeChargeCursor(page.Charges[f.Limit-1])
			break
		}
		page.Charges = append(page.Charges, r.decode())
	}
	s.mu.Unlock()
	return page, nil
}
