package eventfilter

import (
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// getter reads one attribute from an event context in its canonical string form.
// ok is false when the attribute is absent or empty: CloudEvents (and the SDK's
// CESQL EXISTS) treat a blank optional attribute as unset, and Knative's filters
// can never match one either.
type getter func(c event.EventContext) (value string, ok bool)

// getterFor resolves an attribute name once, at build time, so matching does no
// name dispatch. The legacy v0.3 names Knative accepts (schemaurl, datamediatype,
// datacontentencoding) are kept so old triggers behave the same.
func getterFor(name string) getter {
	switch name {
	case "specversion":
		return stringAttr(event.EventContext.GetSpecVersion)
	case "id":
		return stringAttr(event.EventContext.GetID)
	case "source":
		return stringAttr(event.EventContext.GetSource)
	case "type":
		return stringAttr(event.EventContext.GetType)
	case "subject":
		return stringAttr(event.EventContext.GetSubject)
	case "datacontenttype":
		return stringAttr(event.EventContext.GetDataContentType)
	case "dataschema", "schemaurl":
		return stringAttr(event.EventContext.GetDataSchema)
	case "datamediatype":
		return stringAttr(func(c event.EventContext) string {
			s, _ := c.GetDataMediaType()
			return s
		})
	case "datacontentencoding":
		return stringAttr(event.EventContext.DeprecatedGetDataContentEncoding)
	case "time":
		return timeAttr
	default:
		return extensionAttr(name)
	}
}

func stringAttr(get func(event.EventContext) string) getter {
	return func(c event.EventContext) (string, bool) {
		if c == nil {
			return "", false
		}
		s := get(c)
		return s, s != ""
	}
}

// timeAttr formats time as RFC 3339 keeping the event's own offset, which is what
// Knative compares against (time.Time.MarshalText) and what CESQL sees.
func timeAttr(c event.EventContext) (string, bool) {
	if c == nil {
		return "", false
	}
	t := c.GetTime()
	if t.IsZero() {
		return "", false
	}
	return t.Format(time.RFC3339Nano), true
}

// extensionAttr reads the context's extension map directly: Event.Extensions()
// copies the whole map on every call, which would dominate matching cost.
func extensionAttr(name string) getter {
	return func(c event.EventContext) (string, bool) {
		var v any
		switch ec := c.(type) {
		case nil:
			return "", false
		case *event.EventContextV1:
			v = ec.Extensions[name]
		case *event.EventContextV03:
			v = ec.Extensions[name]
		default:
			v = c.GetExtensions()[name]
		}
		return formatValue(v)
	}
}

// formatValue renders an extension in its canonical CloudEvents string form, so
// an int32 set in-process matches the same filter as the "5" that arrives over
// HTTP. (Knative compares the typed value, so in-process typed extensions never
// match its exact filter; over the wire they are strings and do.)
func formatValue(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		return v, v != ""
	default:
		s, err := types.Format(v)
		return s, err == nil && s != ""
	}
}
