package broker

import "github.com/prometheus/client_golang/prometheus"

// metrics are the broker's own series; functions called in-process are counted by
// fnhttp.Metrics under the same names a function pod exposes.
type metrics struct {
	ingress    *prometheus.CounterVec   // broker, code
	deliveries *prometheus.CounterVec   // subscription, result
	latency    *prometheus.HistogramVec // subscription
}

// Delivery results.
const (
	resultDelivered    = "delivered"
	resultRetried      = "retried"
	resultDeadLettered = "dead_lettered"
	resultDropped      = "dropped"
	resultUndecodable  = "undecodable"
	// resultReplyRefused: delivered, but the uri subscriber's reply was a type no
	// credential-less sender may publish (externalReply); the reply was discarded.
	resultReplyRefused = "reply_refused"
)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		ingress: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "catalyst_broker_ingress_events_total",
			Help: "Events posted to a broker's ingress, by HTTP status answered.",
		}, []string{"broker", "code"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "catalyst_broker_deliveries_total",
			Help: "Delivery outcomes per trigger or sequence step: delivered, retried (one per retry), dead_lettered, dropped (failed with no dead-letter sink), undecodable, reply_refused (a uri subscriber replied with a platform type).",
		}, []string{"subscription", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "catalyst_broker_delivery_duration_seconds",
			Help:    "Time from the first attempt to the final outcome of a matching event.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"subscription"}),
	}
	if reg != nil {
		reg.MustRegister(m.ingress, m.deliveries, m.latency)
	}
	return m
}
