package api

import (
	"net/http"

	"github.com/catalyst-cpaas/catalyst/internal/errs"
)

// Codes of the answers the mux gives itself; every other code is an errs.Code.
const (
	codeMethodNotAllowed errs.Code = "method_not_allowed"
	codeMoved            errs.Code = "moved"
)

// muxAnswer stands in for the ResponseWriter while the mux picks a handler. A route's
// handler unwraps it (routed) and writes as usual; the mux's own handlers (not found,
// method not allowed, redirect to the clean path) write text or HTML, which muxAnswer
// replaces with the JSON error shape, keeping their status, Allow and Location.
type muxAnswer struct {
	http.ResponseWriter
	r     *http.Request
	wrote bool
}

// routed wraps a route's handler so that it writes to the real ResponseWriter.
func routed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m, ok := w.(*muxAnswer); ok {
			w = m.ResponseWriter
		}
		h.ServeHTTP(w, r)
	})
}

func (m *muxAnswer) WriteHeader(status int) {
	if m.wrote {
		return
	}
	m.wrote = true
	h := m.Header()
	h.Del("Content-Type")
	what := m.r.Method + " " + m.r.URL.Path
	d := errorDetail{Code: errs.NotFound, Message: "no such endpoint: " + what}
	switch {
	case status == http.StatusMethodNotAllowed:
		d = errorDetail{Code: codeMethodNotAllowed, Message: "method not allowed: " + what + "; allowed: " + h.Get("Allow")}
	case status >= 300 && status < 400:
		d = errorDetail{Code: codeMoved, Message: "not the canonical path: repeat the request at " + h.Get("Location")}
	case status != http.StatusNotFound:
		d = errorDetail{Code: errs.CodeForStatus(status), Message: http.StatusText(status)}
	}
	writeJSON(m.ResponseWriter, status, errorBody{d})
}

// Write drops the mux's own text body: WriteHeader has written the JSON one.
func (m *muxAnswer) Write(b []byte) (int, error) {
	if !m.wrote {
		m.WriteHeader(http.StatusNotFound)
	}
	return len(b), nil
}
