package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// errorBody is every error's JSON shape.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    errs.Code             `json:"code"`
	Message string                `json:"message"`
	Fields  []errs.FieldViolation `json:"fields,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError maps err once: an *errs.Error keeps its code, message and fields; any
// other error is logged and answered as a bare internal error, so no internal detail
// leaks to the caller.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	retryAfterHeader(w, err)
	var e *errs.Error
	if !errors.As(err, &e) {
		s.opts.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		e = errs.E(errs.Internal, "internal error")
	} else if e.Code == errs.Internal || e.Code == errs.Unavailable {
		s.opts.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	writeJSON(w, errs.Status(e), errorBody{errorDetail{Code: e.Code, Message: e.Message, Fields: e.Fields}})
}

// readBody reads at most limit bytes; more is a 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errs.E(errs.TooLarge, "request body larger than %d bytes", limit)
		}
		return nil, errs.Wrap(errs.Invalid, err, "read request body")
	}
	return body, nil
}

// decodeJSON decodes strictly: unknown fields and trailing data are errors.
func decodeJSON(body []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return errs.Wrap(errs.Invalid, err, "malformed JSON body")
	}
	if dec.More() {
		return errs.E(errs.Invalid, "malformed JSON body: more than one value")
	}
	return nil
}
