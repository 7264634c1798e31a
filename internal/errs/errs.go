// Package errs is Catalyst's one coded error type. Functions and services return
// *Error (or wrap one); the HTTP and CloudEvents boundaries map the code to a status
// exactly once, with Status, and decide retries with Retryable, following Knative's
// delivery rules (pkg/kncloudevents/retries.go in knative/eventing).
package errs

import (
	"errors"
	"fmt"
	"net/http"
)

// Code classifies an error by what the caller should do about it.
type Code string

const (
	// Invalid: the input is wrong and will stay wrong; never retried (dead-lettered).
	Invalid Code = "invalid"
	// Unauthenticated: credentials missing or wrong.
	Unauthenticated Code = "unauthenticated"
	// PermissionDenied: authenticated but not allowed.
	PermissionDenied Code = "permission_denied"
	// NotFound: the addressed thing does not exist (retried by Knative: it may appear).
	NotFound Code = "not_found"
	// Timeout: the work did not finish in time; retried.
	Timeout Code = "timeout"
	// Conflict: a concurrent change won; retried.
	Conflict Code = "conflict"
	// TooLarge: the request body exceeds a limit; never retried.
	TooLarge Code = "too_large"
	// Unprocessable: well-formed but semantically rejected; never retried.
	Unprocessable Code = "unprocessable"
	// RateLimited: slow down; retried.
	RateLimited Code = "rate_limited"
	// Unavailable: a dependency is down; retried.
	Unavailable Code = "unavailable"
	// Internal: a bug or an unexpected failure; retried.
	Internal Code = "internal"
)

var statusByCode = map[Code]int{
	Invalid:          http.StatusBadRequest,
	Unauthenticated:  http.StatusUnauthorized,
	PermissionDenied: http.StatusForbidden,
	NotFound:         http.StatusNotFound,
	Timeout:          http.StatusRequestTimeout,
	Conflict:         http.StatusConflict,
	TooLarge:         http.StatusRequestEntityTooLarge,
	Unprocessable:    http.StatusUnprocessableEntity,
	RateLimited:      http.StatusTooManyRequests,
	Unavailable:      http.StatusServiceUnavailable,
	Internal:         http.StatusInternalServerError,
}

// FieldViolation names one invalid field by its path (for example "spec.filters[0].exact")
// and says what is wrong with it.
type FieldViolation struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error is an error with a code, a human message, optional field violations and an
// optional cause.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldViolation
	Err     error
}

// E returns a new *Error with a formatted message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns a new *Error with code and message that wraps err.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the code of the first *Error in err's chain, Internal for any other
// non-nil error, and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Status maps err to the HTTP status a Catalyst boundary answers with: 200 for nil,
// the code's status for an *Error, 500 for anything else.
func Status(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if s, ok := statusByCode[CodeOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// CodeForStatus is Status's inverse for a delivery's HTTP answer: it classifies a
// subscriber's status so the dispatcher decides retries the same way for in-process
// functions and remote sinks.
func CodeForStatus(status int) Code {
	for c, s := range statusByCode {
		if s == status {
			return c
		}
	}
	switch {
	case status >= 500:
		return Internal
	case status >= 400:
		return Invalid
	}
	return ""
}

// Retryable reports whether a delivery that answered with status should be retried,
// following Knative: 5xx, 404, 408, 409 and 429 are retried; every other 4xx is not and
// goes to the dead-letter sink. 2xx and 3xx are not failures.
func Retryable(status int) bool {
	switch {
	case status >= 500:
		return true
	case status == http.StatusNotFound, status == http.StatusRequestTimeout,
		status == http.StatusConflict, status == http.StatusTooManyRequests:
		return true
	}
	return false
}
