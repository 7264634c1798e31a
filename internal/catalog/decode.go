package catalog

import (
	"encoding/json"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// DecodeData decodes e's JSON data into v. Data that does not decode is Invalid
// (a function dead-letters it rather than retrying), naming the event.
func DecodeData(e event.Event, v any) error {
	if err := json.Unmarshal(e.Data(), v); err != nil {
		return errs.Wrap(errs.Invalid, err, "event %s (%s) data", e.ID(), e.Type())
	}
	return nil
}
