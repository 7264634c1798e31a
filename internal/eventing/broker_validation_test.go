package eventing

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

const classPath = "metadata.annotations[eventing.knative.dev/broker.class]"

func validBroker() *Broker {
	return &Broker{
		ObjectMeta: metav1.ObjectMeta{
			Name: "default", Namespace: "orders",
			Annotations: map[string]string{BrokerClassAnnotation: KafkaBrokerClass},
		},
		Spec: BrokerSpec{
			Config:   &duckv1.KReference{Kind: "ConfigMap", APIVersion: "v1", Name: "kafka-broker-config", Namespace: "knative-eventing"},
			Delivery: validDelivery(),
		},
	}
}

func TestBrokerValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Broker)
		want   []string
		msg    string // when set, a substring of the error
	}{
		{name: "valid", mutate: func(*Broker) {}},
		{name: "valid: no config, no delivery", mutate: func(b *Broker) { b.Spec = BrokerSpec{} }},
		{name: "valid: dead letter sink in another namespace", mutate: func(b *Broker) {
			b.Spec.Delivery.DeadLetterSink.Ref.Namespace = "elsewhere"
		}},
		{name: "missing name", mutate: func(b *Broker) { b.Name = "" }, want: []string{"metadata.name"}},
		{name: "missing class", mutate: func(b *Broker) { b.Annotations = nil }, want: []string{classPath}, msg: "missing field"},
		{name: "empty class", mutate: func(b *Broker) { b.Annotations[BrokerClassAnnotation] = "" }, want: []string{classPath}, msg: "missing field"},
		{name: "other class", mutate: func(b *Broker) { b.Annotations[BrokerClassAnnotation] = "MTChannelBasedBroker" },
			want: []string{classPath}, msg: "invalid value: MTChannelBasedBroker"},
		{name: "class is case sensitive", mutate: func(b *Broker) { b.Annotations[BrokerClassAnnotation] = "kafka" },
			want: []string{classPath}},
		{name: "config not a ConfigMap", mutate: func(b *Broker) { b.Spec.Config.Kind = "Secret" },
			want: []string{"spec.config.kind"}},
		{name: "config apiVersion not v1", mutate: func(b *Broker) { b.Spec.Config.APIVersion = "apps/v1" },
			want: []string{"spec.config.apiVersion"}},
		{name: "config without name", mutate: func(b *Broker) { b.Spec.Config.Name = "" },
			want: []string{"spec.config.name"}},
		{name: "config empty", mutate: func(b *Broker) { b.Spec.Config = &duckv1.KReference{} },
			want: []string{"spec.config.apiVersion", "spec.config.kind", "spec.config.name"}},
		{name: "delivery negative retry", mutate: func(b *Broker) { b.Spec.Delivery.Retry = pointerTo(int32(-1)) },
			want: []string{"spec.delivery.retry"}},
		{name: "delivery timeout invalid", mutate: func(b *Broker) { b.Spec.Delivery.Timeout = pointerTo("30") },
			want: []string{"spec.delivery.timeout"}},
		{name: "every error is reported", mutate: func(b *Broker) {
			b.Name = ""
			b.Annotations[BrokerClassAnnotation] = "Other"
			b.Spec.Config.Kind = "Secret"
			b.Spec.Delivery.BackoffPolicy = pointerTo(BackoffPolicyType("fibonacci"))
		}, want: []string{"metadata.name", classPath, "spec.config.kind", "spec.delivery.backoffPolicy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := validBroker()
			tc.mutate(b)
			err := b.Validate(context.Background())
			checkPaths(t, err, tc.want...)
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q lacks %q", err, tc.msg)
			}
		})
	}
}

func TestBrokerValidateNil(t *testing.T) {
	t.Parallel()
	var b *Broker
	if err := b.Validate(context.Background()); err != nil {
		t.Fatalf("nil broker: %v", err)
	}
}
