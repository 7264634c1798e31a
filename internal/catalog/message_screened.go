package catalog

// MessageScreenedType is emitted by the firewall Sequence when it has decided on a
// message. Only a pass goes on to billing; the message record follows every decision.
const MessageScreenedType = "io.catalyst.message.screened"

// Firewall decisions, the values of MessageScreened.Decision.
const (
	DecisionPass     = "pass"     // go on to billing and the channel
	DecisionBlock    = "block"    // never sent (terminal)
	DecisionHold     = "hold"     // parked in the review queue until an operator decides
	DecisionThrottle = "throttle" // over a velocity limit; not sent now
)

// MessageScreened is the data of io.catalyst.message.screened.
type MessageScreened struct {
	MessageRef
	Decision string   `json:"decision" jsonschema:"enum=pass,enum=block,enum=hold,enum=throttle" jsonschema_description:"pass: billing may authorize it; block: never sent; hold: parked for review; throttle: over a velocity limit."`
	Phase    string   `json:"phase" jsonschema:"minLength=1" jsonschema_description:"The firewall phase that decided (for pass, the last phase run)."`
	Reasons  []string `json:"reasons,omitempty" jsonschema_description:"Machine-readable reasons for the decision, e.g. the rules that matched; none for a clean pass."`
	Score    float64  `json:"score" jsonschema:"minimum=0,maximum=1" jsonschema_description:"Risk score from 0 (clean) to 1 (certainly abusive)."`
}
