package catalog

// Planned function names, from the architecture (docs/architecture.md): the firewall
// and billing Sequences, and one sender and one delivery-report handler per channel.
const (
	firewallPreprocess = "firewall-preprocess"
	firewallDPI        = "firewall-dpi"
	firewallVelocity   = "firewall-velocity"
	firewallReputation = "firewall-reputation"
	firewallFraud      = "firewall-fraud"
	firewallRules      = "firewall-rules"
	firewallDecide     = "firewall-decide"
	firewallRelease    = "firewall-release"
	messageAuthorize   = "message-authorize"
	messageSettle      = "message-settle"
	billingRate        = "billing-rate"
	billingDiscount    = "billing-discount"
	billingFees        = "billing-fees"
	billingTax         = "billing-tax"
	billingFX          = "billing-fx"
	billingReserve     = "billing-reserve"
	billingSettle      = "billing-settle"
	billingRecord      = "billing-record"
	billingThresholds  = "billing-thresholds"
	channelSend        = "<channel>-send"
	smsSend            = "sms-send"
	channelDLR         = "<channel>-dlr"
	messageRecord      = "message-record"
	echo               = "echo"
)

// messageExtensions are required on every event about one message: they route it
// (channel), scope it (tenantid) and keep it in its message's partition.
var messageExtensions = []string{ExtTenantID, ExtChannel, ExtMessageID, ExtPartitionKey}

// tenantExtensions are required on tenant-wide events; partitionkey is the tenant id,
// so one tenant's balance and status events stay in order.
var tenantExtensions = []string{ExtTenantID, ExtPartitionKey}

// screenedExtensions adds the decision, so Triggers route on it (billing takes pass).
var screenedExtensions = append(append([]string(nil), messageExtensions...), ExtDecision)

// entries is the catalogue, in the order of a message's life. Adding a type means a
// Go type in its entity's file, an entry here, an example in the tests, and
// regenerating docs/events.md.
func entries() []Entry {
	return []Entry{
		{
			Type:        MessageRequestedType,
			Description: "A send request was accepted: through the messages API, or posted to the broker as a raw CloudEvent. Bad input never gets this far (the API answers 4xx and emits nothing).",
			Extensions:  messageExtensions, Data: MessageRequested{},
			Producers: []string{API, Integrators}, Consumers: []string{firewallPreprocess, messageAuthorize, messageRecord},
		},
		{
			Type:        FirewallScreeningType,
			Description: "Inside the firewall Sequence only: a message and what the phases found so far, passed from phase to phase (preprocess, dpi, velocity, reputation, fraud, rules, decide). Integrators never see it.",
			Extensions:  messageExtensions, Data: FirewallScreening{},
			Producers: []string{firewallPreprocess, firewallDPI, firewallVelocity, firewallReputation, firewallFraud, firewallRules},
			Consumers: []string{firewallDPI, firewallVelocity, firewallReputation, firewallFraud, firewallRules, firewallDecide},
		},
		{
			Type:        MessageScreenedType,
			Description: "The firewall decided on a message (the decision extension carries the decision). Only pass goes on to billing; block is final, hold waits in the review queue for an operator (or the SLA's default action), throttle waits for its release time and then comes again as a pass.",
			Extensions:  screenedExtensions, Data: MessageScreened{},
			Producers: []string{firewallDecide, firewallRelease, messageAuthorize, API}, Consumers: []string{billingRate, messageAuthorize, messageRecord, firewallRelease, Integrators},
		},
		{
			Type:        FraudAlertType,
			Description: "The firewall blocked a message: its risk, the rules and indicators behind it and an explanation.",
			Extensions:  messageExtensions, Data: FraudAlert{},
			Producers: []string{firewallDecide, firewallRelease, messageAuthorize, API}, Consumers: []string{Integrators},
		},
		{
			Type:        BillingRatingType,
			Description: "Inside billing's authorize Sequence only: a message and its price so far, passed from step to step (rate, discount, fees, tax, fx, reserve). Integrators never see it.",
			Extensions:  messageExtensions, Data: BillingRating{},
			Producers: []string{billingRate, billingDiscount, billingFees, billingTax, billingFX},
			Consumers: []string{billingDiscount, billingFees, billingTax, billingFX, billingReserve},
		},
		{
			Type:        BillingAuthorizedType,
			Description: "Billing priced a screened message (rate, discount, fees, tax, currency conversion) and reserved the amount on the tenant's balance. The channel's sender, selected by the channel extension, sends it.",
			Extensions:  messageExtensions, Data: BillingAuthorized{},
			Producers: []string{billingReserve, messageAuthorize}, Consumers: []string{smsSend, channelSend},
		},
		{
			Type:        BillingDeclinedType,
			Description: "Billing refused a screened message; nothing was reserved and the message is not sent. The message's status becomes failed.",
			Extensions:  messageExtensions, Data: BillingDeclined{},
			Producers: []string{billingRate, billingFX, billingReserve, messageAuthorize}, Consumers: []string{messageRecord, Integrators},
		},
		{
			Type:        MessageSentType,
			Description: "A channel's sender handed the message to the provider or carrier, which accepted it. Delivery is reported later.",
			Extensions:  messageExtensions, Data: MessageSent{},
			Producers: []string{smsSend, channelSend}, Consumers: []string{messageRecord},
		},
		{
			Type:        MessageFailedType,
			Description: "The message will not be delivered: the sender could not hand it over (stage send) or the provider reported a failure (stage delivery). Billing settles the reservation.",
			Extensions:  messageExtensions, Data: MessageFailed{},
			Producers: []string{smsSend, channelSend, channelDLR}, Consumers: []string{messageRecord, billingSettle, messageSettle, Integrators},
		},
		{
			Type:        MessageDeliveredType,
			Description: "The provider reported the message delivered to the recipient. Billing commits the reservation.",
			Extensions:  messageExtensions, Data: MessageDelivered{},
			Producers: []string{smsSend, channelDLR}, Consumers: []string{messageRecord, billingSettle, messageSettle, Integrators},
		},
		{
			Type:        MessageReadType,
			Description: "The recipient opened the message (channels with read receipts only).",
			Extensions:  messageExtensions, Data: MessageRead{},
			Producers: []string{channelDLR}, Consumers: []string{messageRecord, Integrators}, Planned: true,
		},
		{
			Type:        MessageInboundType,
			Description: "Someone sent a message to one of the tenant's numbers or accounts. It is a new message with its own message id.",
			Extensions:  messageExtensions, Data: MessageInbound{},
			Producers: []string{smsSend, channelDLR}, Consumers: []string{messageRecord, Integrators},
		},
		{
			Type:        BillingCommittedType,
			Description: "A reservation became a charge in the ledger: on delivery, or on failure when the rate charges on failure.",
			Extensions:  messageExtensions, Data: BillingCommitted{},
			Producers: []string{billingSettle, billingRecord, billingThresholds, messageSettle}, Consumers: []string{billingRecord, billingThresholds, Integrators},
		},
		{
			Type:        BillingReleasedType,
			Description: "A reservation was given back to the balance: the message failed (and its rate does not charge on failure), or the reservation expired.",
			Extensions:  messageExtensions, Data: BillingReleased{},
			Producers: []string{billingSettle, billingRecord, billingThresholds, messageSettle}, Consumers: []string{billingRecord, billingThresholds, Integrators},
		},
		{
			Type:        BalanceLowType,
			Description: "A tenant's available balance fell below its alert threshold. Emitted once per crossing, so top up before sends are declined.",
			Extensions:  tenantExtensions, Data: BalanceLow{},
			Producers: []string{billingThresholds, billingSettle, messageSettle}, Consumers: []string{Integrators},
		},
		{
			Type:        TenantSuspendedType,
			Description: "A tenant was suspended and may no longer send: billing declines its new messages (reason tenant_suspended) until a top-up lifts the balance above the suspend level.",
			Extensions:  tenantExtensions, Data: TenantSuspended{},
			Producers: []string{billingThresholds, billingSettle, messageSettle}, Consumers: []string{Integrators},
		},
		{
			Type:        TenantReinstatedType,
			Description: "A suspended tenant may send again: a top-up lifted its balance above the suspend level.",
			Extensions:  tenantExtensions, Data: TenantReinstated{},
			Producers: []string{API, billingThresholds, billingSettle, messageSettle}, Consumers: []string{Integrators},
		},
		{
			Type:        DiagnosticsPingType,
			Description: "A diagnostics ping with any JSON data. The echo function answers it with a pong, which proves the path ingress → Kafka → trigger → function → reply → broker.",
			Data:        DiagnosticsData(nil),
			Producers:   []string{Integrators}, Consumers: []string{echo},
		},
		{
			Type:        DiagnosticsPongType,
			Description: "The echo function's answer to a ping: the ping's data and routing extensions, with the ping's id as subject.",
			Data:        DiagnosticsData(nil),
			Producers:   []string{echo}, Consumers: []string{Integrators},
		},
	}
}
