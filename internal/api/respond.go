package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"

	sigsjson "sigs.k8s.io/json"

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
	if e.Code == errs.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="catalyst"`) // RFC 9110 §11.6.1: a 401 names its scheme
	}
	writeJSON(w, errs.Status(e), errorBody{errorDetail{Code: e.Code, Message: e.Message, Fields: e.Fields}})
}

// readBody reads at most limit bytes; more is a 413, and a body that does not arrive
// within the server's read timeout is a 408.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errs.E(errs.TooLarge, "request body larger than %d bytes", limit)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, errs.Wrap(errs.Timeout, err, "request body not received in time")
		}
		return nil, errs.Wrap(errs.Invalid, err, "read request body")
	}
	return body, nil
}

// decodeJSON decodes strictly (sigs.k8s.io/json, as the messages API does): member
// names match exactly, and an unknown member, a member named twice in one object (at
// any depth: encoding/json would silently keep the last) and trailing data are all
// errors, the first two reported per field.
func decodeJSON(body []byte, into any) error {
	strict, err := sigsjson.UnmarshalStrict(body, into)
	if err != nil {
		return errs.Wrap(errs.Invalid, err, "malformed JSON body")
	}
	return strictError(strict)
}

// checkDuplicateKeys refuses a JSON body that names a member twice in one object, at
// any depth, for bodies decoded elsewhere (rate cards). Syntax errors are left to
// that decoder.
func checkDuplicateKeys(body []byte) error {
	var v any
	strict, err := sigsjson.UnmarshalStrict(body, &v, sigsjson.DisallowDuplicateFields)
	if err != nil {
		return nil
	}
	return strictError(strict)
}

// strictError turns sigs.k8s.io/json's strict errors into one Invalid with a field
// per problem.
func strictError(strict []error) error {
	if len(strict) == 0 {
		return nil
	}
	fields := make([]errs.FieldViolation, 0, len(strict))
	for _, e := range strict {
		f := errs.FieldViolation{Reason: strings.TrimPrefix(e.Error(), "json: ")}
		var fe sigsjson.FieldError
		if errors.As(e, &fe) {
			f.Field = fe.FieldPath()
			switch {
			case strings.HasPrefix(f.Reason, "duplicate field"):
				f.Reason = "given more than once: name each member once"
			case strings.HasPrefix(f.Reason, "unknown field"):
				f.Reason = "unknown field (names are case-sensitive)"
			}
		}
		fields = append(fields, f)
	}
	return &errs.Error{Code: errs.Invalid, Message: "malformed JSON body: " + strings.TrimPrefix(strict[0].Error(), "json: "),
		Fields: fields, Err: errMalformed}
}

// errMalformed marks a body that is not acceptable JSON even when its error names
// fields, so unprocessable leaves it a 400.
var errMalformed = errors.New("malformed JSON body")
