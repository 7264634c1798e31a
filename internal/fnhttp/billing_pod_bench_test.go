package fnhttp_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	billingfns "github.com/catalyst-cpaas/catalyst/functions/billing"
	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/catalog"
	"github.com/catalyst-cpaas/catalyst/internal/charging"
	"github.com/catalyst-cpaas/catalyst/internal/fn"
	"github.com/catalyst-cpaas/catalyst/internal/inmem"
	"github.com/catalyst-cpaas/catalyst/internal/tenant"
	"github.com/catalyst-cpaas/catalyst/internal/wallet"
)

// billingCase is BenchmarkPod's case for one billing function: an engine on in-memory
// stores with one tenant (a card with bands, prefixes, a volume tier and tax; a large
// balance), and events that reach the step as the Sequence would hand them over.
func billingCase(name string) podCase {
	var def fn.Definition
	for _, d := range billingfns.Definitions() {
		if d.Name == name {
			def = d
		}
	}
	c := podCase{def: def}
	c.setup = func(b *testing.B) (fn.Deps, func(b *testing.B, i int) event.Event) {
		e := benchEngine(b)
		ctx := context.Background()
		return fn.Deps{Billing: e, Emitter: discardEmitter{}}, func(b *testing.B, _ int) event.Event {
			m := catalog.MessageRequested{MessageID: uuid.NewString(), TenantID: "bench", Channel: "sms", To: "+447911123456",
				Content: catalog.Content{Type: "text", Text: "hello from the pod benchmark"}}
			ref := catalog.MessageRef{MessageID: m.MessageID, TenantID: m.TenantID, Channel: "sms"}
			if name == "billing-rate" {
				// Rating starts from the firewall's pass, as the Trigger delivers it.
				e, err := catalog.New(catalog.MessageScreenedType, "/bench", catalog.MessageScreened{MessageRef: ref, Decision: catalog.DecisionPass,
					Risk: 3, Phase: "decide", Explanation: "clean", Message: m}, map[string]string{"tenantid": ref.TenantID, "channel": "sms",
					"messageid": ref.MessageID, "partitionkey": ref.MessageID, catalog.ExtDecision: catalog.DecisionPass})
				if err != nil {
					b.Fatal(err)
				}
				return e
			}
			r, _, err := e.Rate(ctx, m)
			if err != nil {
				b.Fatal(err)
			}
			steps := map[string]int{"billing-discount": 0, "billing-fees": 1, "billing-tax": 2, "billing-fx": 3, "billing-reserve": 4}
			last, rating := steps[name]
			if !rating {
				last = 5
			}
			for step := range last {
				switch step {
				case 0:
					err = e.Discount(ctx, &r)
				case 1:
					err = e.Fees(ctx, &r)
				case 2:
					err = e.Tax(ctx, &r)
				case 3:
					_, err = e.FX(ctx, &r)
				case 4:
					_, _, err = e.Reserve(ctx, r)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			switch name {
			case "billing-settle":
				return benchEvent(b, catalog.MessageDeliveredType, catalog.MessageDelivered{MessageRef: ref}, ref)
			case "billing-record", "billing-thresholds":
				s, err := e.Settle(ctx, ref, true)
				if err != nil || s.Committed == nil {
					b.Fatalf("settle: %+v %v", s, err)
				}
				return benchEvent(b, catalog.BillingCommittedType, s.Committed, ref)
			}
			return benchEvent(b, catalog.BillingRatingType, r, ref)
		}
	}
	return c
}

func benchEngine(b *testing.B) *charging.Engine {
	ctx := context.Background()
	db := inmem.New()
	e, err := charging.New(charging.Config{Tenants: db.Tenants(), Cards: db.RateCards(), FX: db.FXRates(), Promos: db.Promos(),
		Settings: db.BillingSettings(), Charges: db.Charges(), Wallet: wallet.NewMemory(time.Now), Ledger: db.Ledger(),
		Volume: charging.NewMemoryCounter()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	if _, err := db.Tenants().CreateTenant(ctx, tenant.Tenant{ID: "bench", Name: "bench", Email: "b@example.com", Currency: "EUR", Status: tenant.Active},
		tenant.APIKey{ID: uuid.NewString(), TenantID: "bench", Prefix: "ck_bench", Hash: []byte("bench")}); err != nil {
		b.Fatal(err)
	}
	d := decimal.RequireFromString
	card := billing.RateCard{Name: "bench", TenantID: "bench", Currency: "EUR", EffectiveFrom: time.Now().Add(-time.Hour),
		Rates: map[string]billing.ChannelRate{"sms": {BaseRate: d("0.015"), Unit: billing.PerSegment}},
		TimeBands: []billing.TimeBand{{Name: "weekend", Days: []string{"sat", "sun"}, Start: "00:00", End: "24:00", Timezone: "UTC", Multiplier: d("0.8")},
			{Name: "night", Start: "00:00", End: "06:00", Timezone: "Europe/London", Multiplier: d("0.9")}},
		DestinationRates: map[string]decimal.Decimal{"44": d("1.2"), "447": d("1.3"), "4479": d("1.25"), "1": d("0.9")},
		OperatorRates:    map[string]decimal.Decimal{"23415": d("1.1")},
		VolumeDiscounts:  []billing.VolumeDiscount{{MinVolume: 0, MaxVolume: 1000, DiscountPercent: d("0")}, {MinVolume: 1001, DiscountPercent: d("5")}},
		Tax:              billing.Tax{RatePercent: d("20")}}
	if _, err := db.RateCards().Create(ctx, card); err != nil {
		b.Fatal(err)
	}
	if _, _, _, err := e.TopUp(ctx, "bench", "bench-topup", "", d("100000000"), "EUR"); err != nil {
		b.Fatal(err)
	}
	return e
}

func benchEvent(b *testing.B, typ string, data any, ref catalog.MessageRef) event.Event {
	raw, err := json.Marshal(data)
	if err != nil {
		b.Fatal(err)
	}
	e, err := catalog.New(typ, "/bench", json.RawMessage(raw), map[string]string{
		"tenantid": ref.TenantID, "channel": string(ref.Channel), "messageid": ref.MessageID, "partitionkey": ref.MessageID})
	if err != nil {
		b.Fatal(err)
	}
	return e
}
