package catalog

import "github.com/catalyst-cpaas/catalyst/internal/firewall"

// MessageScreenedType is emitted by the firewall Sequence when it has decided on a
// message, and again when a held message is approved or rejected or a throttled one
// is released. Only a pass goes on to billing; the message record follows every
// decision. The decision is also the event's decision extension, so Triggers route
// on it.
const MessageScreenedType = "io.catalyst.message.screened"

// Firewall decisions, the values of MessageScreened.Decision.
const (
	DecisionPass     = firewall.Pass     // go on to billing and the channel
	DecisionBlock    = firewall.Block    // never sent (terminal)
	DecisionHold     = firewall.Hold     // parked in the review queue until an operator decides
	DecisionThrottle = firewall.Throttle // over a velocity limit; sent later, as a pass
)

// MessageScreened is the data of io.catalyst.message.screened.
type MessageScreened struct {
	MessageRef
	Decision    string               `json:"decision" jsonschema:"enum=pass,enum=block,enum=hold,enum=throttle" jsonschema_description:"pass: billing may authorize it; block: never sent; hold: parked for review; throttle: over a velocity limit, released later as a pass."`
	Recommended string               `json:"recommended,omitempty" jsonschema:"enum=pass,enum=block,enum=hold,enum=throttle" jsonschema_description:"What the evidence says including rules and models in shadow mode; differs from decision only when shadow checks would have acted."`
	Risk        int                  `json:"risk" jsonschema:"minimum=0,maximum=100" jsonschema_description:"Risk score from 0 (clean) to 100 (certainly abusive)."`
	Phase       string               `json:"phase" jsonschema:"minLength=1" jsonschema_description:"What decided: a firewall phase (rules, fraud, decide), or review / review-sla / release for a later decision."`
	Rules       []string             `json:"rules,omitempty" jsonschema_description:"The matched rules acted on."`
	Shadow      []string             `json:"shadow,omitempty" jsonschema_description:"Matched rules in shadow mode (and model for a content model in shadow mode): recorded, not acted on."`
	Indicators  []firewall.Indicator `json:"indicators,omitempty" jsonschema_description:"The findings that make up the risk."`
	Explanation string               `json:"explanation" jsonschema_description:"Why, for humans."`
	Message     MessageRequested     `json:"message" jsonschema_description:"The message as requested: billing and the channel's sender need nothing else."`
}
