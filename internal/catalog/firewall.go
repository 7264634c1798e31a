package catalog

import "github.com/catalyst-cpaas/catalyst/internal/firewall"

// Firewall event types.
const (
	// FirewallScreeningType is the work item inside the firewall Sequence: the
	// message and what the phases found so far, passed from phase to phase
	// (preprocess → dpi → velocity → reputation → fraud → rules → decide). It never
	// reaches the broker.
	FirewallScreeningType = "io.catalyst.firewall.screening"
	// FraudAlertType: the firewall blocked a message.
	FraudAlertType = "io.catalyst.fraud.alert"
)

// FirewallScreening is the data of io.catalyst.firewall.screening.
type FirewallScreening struct {
	Message MessageRequested `json:"message" jsonschema_description:"The message being screened, as requested."`
	Screen  firewall.Screen  `json:"screen" jsonschema_description:"What the phases found so far: features, indicators, rule hits."`
}

// FraudAlert is the data of io.catalyst.fraud.alert.
type FraudAlert struct {
	MessageRef
	Risk        int                  `json:"risk" jsonschema:"minimum=0,maximum=100" jsonschema_description:"Risk score from 0 to 100."`
	Rules       []string             `json:"rules,omitempty" jsonschema_description:"The matched rules acted on."`
	Indicators  []firewall.Indicator `json:"indicators,omitempty" jsonschema_description:"The findings that make up the risk."`
	Explanation string               `json:"explanation" jsonschema_description:"Why the message was blocked, for humans."`
	From        string               `json:"from,omitempty" jsonschema_description:"The message's sender id."`
	To          string               `json:"to" jsonschema_description:"The message's destination."`
	Country     string               `json:"country,omitempty" jsonschema_description:"ISO 3166 region of the destination."`
	Phase       string               `json:"phase" jsonschema_description:"What decided: a firewall phase, or review when an operator rejected a held message."`
}
