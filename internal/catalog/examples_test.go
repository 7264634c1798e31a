package catalog

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"

	"github.com/catalyst-cpaas/catalyst/internal/billing"
	"github.com/catalyst-cpaas/catalyst/internal/firewall"
)

// Example identities, shared by the tests.
const (
	exTenant      = "acme"
	exMessage     = "01968a3e-5c2b-7d4e-9f10-2a3b4c5d6e7f"
	exReservation = "5b0d7f5e-1d7a-4c3f-8f53-0b6a2f1f9c11"
	exSource      = "/catalyst/tests"
)

// example is one valid event of a type: its data and extensions.
type example struct {
	data any
	ext  map[string]string
}

// examples returns one valid example per catalogued type; a test fails when a type
// has none, so every new type comes with one. Each call builds fresh values, so a
// parallel test may change its copy.
func examples() map[string]example {
	at := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	ref := MessageRef{MessageID: exMessage, TenantID: exTenant, Channel: "sms"}
	msg := func() map[string]string {
		return map[string]string{ExtTenantID: exTenant, ExtChannel: "sms", ExtMessageID: exMessage, ExtPartitionKey: exMessage}
	}
	screened := func() map[string]string {
		m := msg()
		m[ExtDecision] = DecisionPass
		return m
	}
	tenant := func() map[string]string {
		return map[string]string{ExtTenantID: exTenant, ExtPartitionKey: exTenant}
	}
	price := decimal.RequireFromString("0.0425")
	requested := MessageRequested{MessageID: exMessage, TenantID: exTenant, Channel: "sms", To: "+447700900123",
		Content: Content{Type: "text", Text: "hello"}}
	return map[string]example{
		BillingRatingType: {BillingRating{Message: requested,
			Usage: billing.Usage{Channel: "sms", Destination: "447700900123", Segments: 1, Characters: 5, At: at, MonthVolume: 1},
			Breakdown: billing.Breakdown{RateCardID: "standard", RateCardVersion: 1, CardCurrency: "EUR", Currency: "EUR",
				Unit: billing.PerSegment, Units: decimal.NewFromInt(1), BaseRate: price, Base: price}}, msg()},
		TenantReinstatedType: {TenantReinstated{TenantID: exTenant, Detail: "top-up"}, tenant()},
		MessageRequestedType: {MessageRequested{
			MessageID: exMessage, TenantID: exTenant, Channel: "sms", To: "+447700900123",
			Content: Content{Type: "text", Text: "hello"},
		}, msg()},
		MessageScreenedType: {MessageScreened{MessageRef: ref, Decision: DecisionPass, Recommended: DecisionPass, Phase: "decide", Risk: 4,
			Explanation: "no indicators", Message: requested}, screened()},
		FirewallScreeningType: {FirewallScreening{Message: requested, Screen: firewall.Screen{
			Message:  firewall.Message{ID: exMessage, TenantID: exTenant, Channel: "sms", To: "+447700900123", ContentType: "text", Text: "hello", At: at},
			Features: firewall.Features{ValidNumber: true, Destination: "447700900123", Country: "GB", NumberType: "mobile", Encoding: "gsm7", Length: 5, Segments: 1},
			Done:     []string{"preprocess"}}}, msg()},
		FraudAlertType: {FraudAlert{MessageRef: ref, Risk: 100, Rules: []string{"banking-phishing"}, To: "+447700900123", Phase: "rules",
			Indicators:  []firewall.Indicator{{Code: "rule.block", Phase: "rules", Weight: 100, Detail: "banking-phishing"}},
			Explanation: "rule banking-phishing (critical): block"}, msg()},
		BillingAuthorizedType: {BillingAuthorized{
			MessageRef: ref, ReservationID: exReservation, Amount: price, Currency: "EUR", Rate: price, ExpiresAt: at.Add(time.Hour),
			Message: requested,
		}, msg()},
		BillingDeclinedType: {BillingDeclined{MessageRef: ref, Reason: DeclineInsufficientBalance, Detail: "balance 0.01 EUR"}, msg()},
		MessageSentType:     {MessageSent{MessageRef: ref, Provider: "smpp-uk-1", ProviderMessageID: "2f1c0a9e", Parts: 1}, msg()},
		MessageFailedType: {MessageFailed{
			MessageRef: ref, Stage: StageDelivery, Code: "0x0000000B", Reason: "invalid destination address",
		}, msg()},
		MessageDeliveredType: {MessageDelivered{MessageRef: ref, ProviderMessageID: "2f1c0a9e", DeliveredAt: at}, msg()},
		MessageReadType:      {MessageRead{MessageRef: ref}, msg()},
		MessageInboundType: {MessageInbound{
			MessageRef: ref, From: "+447700900456", To: "+447700900123",
			Content: Content{Type: "text", Text: "STOP"}, ReceivedAt: at,
		}, msg()},
		BillingCommittedType: {BillingCommitted{MessageRef: ref, ReservationID: exReservation, Amount: price, Currency: "EUR"}, msg()},
		BillingReleasedType: {BillingReleased{
			MessageRef: ref, ReservationID: exReservation, Amount: price, Currency: "EUR", Reason: ReleaseExpired,
		}, msg()},
		BalanceLowType: {BalanceLow{
			TenantID: exTenant, Balance: decimal.RequireFromString("4.20"), Threshold: decimal.NewFromInt(5), Currency: "EUR",
		}, tenant()},
		TenantSuspendedType: {TenantSuspended{TenantID: exTenant, Reason: SuspendBalanceExhausted}, tenant()},
		DiagnosticsPingType: {json.RawMessage(`{"hello":"world"}`), map[string]string{}},
		DiagnosticsPongType: {[]byte(`"any JSON value"`), map[string]string{ExtTenantID: exTenant}},
	}
}
