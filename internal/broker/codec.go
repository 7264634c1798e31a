package broker

import (
	"fmt"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Events are stored in Kafka in the binary content mode of the CloudEvents Kafka
// protocol binding, as Knative's Kafka broker stores them: attributes and extensions
// in "ce_"-prefixed headers, the data content type in "content-type", the data as the
// record value, and the partition key as the record key. A real Knative consumer can
// read what Catalyst writes and the other way round.

const (
	headerPrefix      = "ce_"
	contentTypeHeader = "content-type"
)

// PartitionKeyExtension selects the Kafka record key (CloudEvents partitioning
// extension); events without one are keyed by their id.
const PartitionKeyExtension = "partitionkey"

// recordKey is the Kafka key of e: its partitionkey extension, else its id, so one
// message's events land in one partition and stay in order.
func recordKey(e *event.Event) []byte {
	if v, ok := e.Extensions()[PartitionKeyExtension]; ok {
		if s, err := types.ToString(v); err == nil && s != "" {
			return []byte(s)
		}
	}
	return []byte(e.ID())
}

// toRecord encodes e for topic.
func toRecord(topic string, e *event.Event) (*kgo.Record, error) {
	headers := make([]kgo.RecordHeader, 0, 8+len(e.Extensions()))
	add := func(name, value string) {
		if value != "" {
			headers = append(headers, kgo.RecordHeader{Key: headerPrefix + name, Value: []byte(value)})
		}
	}
	add("specversion", e.SpecVersion())
	add("id", e.ID())
	add("source", e.Source())
	add("type", e.Type())
	add("subject", e.Subject())
	add("dataschema", e.DataSchema())
	if t := e.Time(); !t.IsZero() {
		add("time", types.Timestamp{Time: t}.String())
	}
	for name, v := range e.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			return nil, fmt.Errorf("encode extension %q: %w", name, err)
		}
		add(name, s)
	}
	if ct := e.DataContentType(); ct != "" {
		headers = append(headers, kgo.RecordHeader{Key: contentTypeHeader, Value: []byte(ct)})
	}
	return &kgo.Record{Topic: topic, Key: recordKey(e), Value: e.Data(), Headers: headers}, nil
}

// fromRecord decodes a record written by toRecord (or by any producer following the
// CloudEvents Kafka binary binding) and validates the result.
func fromRecord(r *kgo.Record) (*event.Event, error) {
	e := event.New()
	for _, h := range r.Headers {
		key := strings.ToLower(h.Key)
		value := string(h.Value)
		if key == contentTypeHeader {
			e.SetDataContentType(value)
			continue
		}
		name, ok := strings.CutPrefix(key, headerPrefix)
		if !ok {
			continue
		}
		switch name {
		case "specversion":
			e.SetSpecVersion(value)
		case "id":
			e.SetID(value)
		case "source":
			e.SetSource(value)
		case "type":
			e.SetType(value)
		case "subject":
			e.SetSubject(value)
		case "dataschema":
			e.SetDataSchema(value)
		case "time":
			ts, err := types.ParseTimestamp(value)
			if err != nil {
				return nil, fmt.Errorf("header ce_time: %w", err)
			}
			e.SetTime(ts.Time)
		default:
			if err := e.Context.SetExtension(name, value); err != nil {
				return nil, fmt.Errorf("header %s: %w", h.Key, err)
			}
		}
	}
	if len(r.Value) > 0 {
		e.DataEncoded = r.Value
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("record %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	return &e, nil
}
