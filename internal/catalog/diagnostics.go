package catalog

import "encoding/json"

// Diagnostics event types: an integrator (or a smoke test) posts a ping, the echo
// function answers with a pong carrying the same data and routing extensions, which
// proves the whole path ingress → Kafka → trigger → function → reply → broker.
const (
	DiagnosticsPingType = "io.catalyst.diagnostics.ping"
	DiagnosticsPongType = "io.catalyst.diagnostics.pong"
)

// DiagnosticsData is the data of ping and pong: any JSON value, echoed unchanged. It
// is json.RawMessage itself (an alias) so it marshals verbatim and its schema is {}.
type DiagnosticsData = json.RawMessage
