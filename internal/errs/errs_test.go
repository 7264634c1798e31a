package errs

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// allCodes lists every Code with the status it must map to. A new Code must be added
// here; TestStatusCoversEveryCode fails until it is.
var allCodes = []struct {
	code   Code
	status int
}{
	{Invalid, http.StatusBadRequest},
	{Unauthenticated, http.StatusUnauthorized},
	{PermissionDenied, http.StatusForbidden},
	{NotFound, http.StatusNotFound},
	{Timeout, http.StatusRequestTimeout},
	{Conflict, http.StatusConflict},
	{TooLarge, http.StatusRequestEntityTooLarge},
	{Unprocessable, http.StatusUnprocessableEntity},
	{RateLimited, http.StatusTooManyRequests},
	{Unavailable, http.StatusServiceUnavailable},
	{Internal, http.StatusInternalServerError},
}

func TestStatusCoversEveryCode(t *testing.T) {
	t.Parallel()
	if len(allCodes) != len(statusByCode) {
		t.Fatalf("test lists %d codes, statusByCode maps %d: keep them in step", len(allCodes), len(statusByCode))
	}
	seen := map[int]Code{}
	for _, c := range allCodes {
		if other, dup := seen[c.status]; dup {
			t.Errorf("codes %q and %q share status %d; CodeForStatus could not invert them", other, c.code, c.status)
		}
		seen[c.status] = c.code
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	type tc struct {
		name string
		err  error
		want int
	}
	tests := []tc{
		{"nil", nil, http.StatusOK},
		{"plain error", errors.New("boom"), http.StatusInternalServerError},
		{"io.EOF", io.EOF, http.StatusInternalServerError},
		{"unknown code", &Error{Code: "no_such_code", Message: "x"}, http.StatusInternalServerError},
		{"wrapped by fmt.Errorf", fmt.Errorf("handle: %w", E(NotFound, "tenant %s", "t1")), http.StatusNotFound},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", E(RateLimited, "slow down"))), http.StatusTooManyRequests},
		{"outer *Error wins over inner", Wrap(Conflict, E(Invalid, "inner"), "outer"), http.StatusConflict},
		{"joined", errors.Join(errors.New("other"), E(Unprocessable, "bad")), http.StatusUnprocessableEntity},
	}
	for _, c := range allCodes {
		tests = append(tests, tc{"code " + string(c.code), E(c.code, "msg"), c.status})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Status(tt.err); got != tt.want {
				t.Errorf("Status(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestCodeOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, ""},
		{"plain", errors.New("x"), Internal},
		{"coded", E(TooLarge, "big"), TooLarge},
		{"wrapped", fmt.Errorf("ctx: %w", E(Timeout, "slow")), Timeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := CodeOf(tt.err); got != tt.want {
				t.Errorf("CodeOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestCodeForStatus(t *testing.T) {
	t.Parallel()
	type tc struct {
		status int
		want   Code
	}
	tests := []tc{
		{http.StatusOK, ""},
		{http.StatusAccepted, ""},
		{http.StatusNoContent, ""},
		{http.StatusFound, ""},
		{http.StatusContinue, ""},
		{http.StatusMethodNotAllowed, Invalid},
		{http.StatusTeapot, Invalid},
		{http.StatusUnsupportedMediaType, Invalid},
		{http.StatusBadGateway, Internal},
		{http.StatusGatewayTimeout, Internal},
		{http.StatusNotImplemented, Internal},
		{599, Internal},
	}
	for _, c := range allCodes {
		tests = append(tests, tc{c.status, c.code})
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			got := CodeForStatus(tt.status)
			if got != tt.want {
				t.Fatalf("CodeForStatus(%d) = %q, want %q", tt.status, got, tt.want)
			}
			// A mapped status must round-trip through Status.
			if got != "" && statusByCode[got] == tt.status {
				if s := Status(E(got, "x")); s != tt.status {
					t.Errorf("Status(E(%q)) = %d, want %d", got, s, tt.status)
				}
			}
		})
	}
}

// TestRetryable follows Knative's rule (pkg/kncloudevents/retries.go): 5xx, 404, 408,
// 409 and 429 are retried; other 4xx are not; 2xx and 3xx are not failures.
func TestRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   bool
	}{
		{http.StatusOK, false},
		{http.StatusAccepted, false},
		{http.StatusNoContent, false},
		{http.StatusMovedPermanently, false},
		{http.StatusNotModified, false},
		{http.StatusBadRequest, false},
		{http.StatusUnauthorized, false},
		{http.StatusForbidden, false},
		{http.StatusMethodNotAllowed, false},
		{http.StatusRequestEntityTooLarge, false},
		{http.StatusUnprocessableEntity, false},
		{http.StatusNotFound, true},
		{http.StatusRequestTimeout, true},
		{http.StatusConflict, true},
		{http.StatusTooManyRequests, true},
		{http.StatusInternalServerError, true},
		{http.StatusNotImplemented, true},
		{http.StatusBadGateway, true},
		{http.StatusServiceUnavailable, true},
		{http.StatusGatewayTimeout, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			if got := Retryable(tt.status); got != tt.want {
				t.Errorf("Retryable(%d) = %v, want %v", tt.status, got, tt.want)
			}
		})
	}
}

// TestRetryableAgreesWithCodes: each code's status is retried exactly when the code's
// doc says so, so a function's error kind decides dead-letter vs retry as documented.
func TestRetryableAgreesWithCodes(t *testing.T) {
	t.Parallel()
	retried := map[Code]bool{
		Invalid: false, Unauthenticated: false, PermissionDenied: false, TooLarge: false, Unprocessable: false,
		NotFound: true, Timeout: true, Conflict: true, RateLimited: true, Unavailable: true, Internal: true,
	}
	for _, c := range allCodes {
		want, ok := retried[c.code]
		if !ok {
			t.Errorf("code %q: retry expectation missing from this test", c.code)
			continue
		}
		if got := Retryable(Status(E(c.code, "x"))); got != want {
			t.Errorf("code %q (status %d): Retryable = %v, want %v", c.code, c.status, got, want)
		}
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"E without cause", E(Invalid, "field %s is %d chars", "to", 3), "field to is 3 chars"},
		{"Wrap with cause", Wrap(Unavailable, errors.New("connection refused"), "redis %s", "down"), "redis down: connection refused"},
		{"nested cause", Wrap(Internal, fmt.Errorf("b: %w", io.EOF), "a"), "a: b: EOF"},
		{"literal struct", &Error{Code: NotFound, Message: "no tenant"}, "no tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUnwrap(t *testing.T) {
	t.Parallel()
	sentinel := errors.New("sentinel")
	inner := E(Conflict, "version moved")
	outer := fmt.Errorf("commit: %w", Wrap(Unavailable, fmt.Errorf("store: %w", sentinel), "ledger"))

	if !errors.Is(outer, sentinel) {
		t.Error("errors.Is(outer, sentinel) = false; *Error must Unwrap to its cause")
	}
	if errors.Is(E(Invalid, "no cause"), sentinel) {
		t.Error("errors.Is found a sentinel in an *Error without a cause")
	}
	if u := E(Invalid, "x").Unwrap(); u != nil {
		t.Errorf("Unwrap of an *Error without cause = %v, want nil", u)
	}

	var got *Error
	if !errors.As(outer, &got) {
		t.Fatal("errors.As(outer, *Error) = false")
	}
	if got.Code != Unavailable || got.Message != "ledger" {
		t.Errorf("errors.As found %+v, want code %q message %q", got, Unavailable, "ledger")
	}

	chained := Wrap(Internal, inner, "retry loop")
	if !errors.Is(chained, inner) {
		t.Error("errors.Is(chained, inner) = false")
	}
	var first *Error
	if !errors.As(chained, &first) || first.Code != Internal {
		t.Errorf("errors.As returned %+v, want the outermost *Error (code %q)", first, Internal)
	}
	if CodeOf(fmt.Errorf("x: %w", inner)) != Conflict {
		t.Errorf("CodeOf through fmt.Errorf = %q, want %q", CodeOf(fmt.Errorf("x: %w", inner)), Conflict)
	}
}

func TestFieldsKept(t *testing.T) {
	t.Parallel()
	e := &Error{Code: Invalid, Message: "bad request", Fields: []FieldViolation{{Field: "to", Reason: "not E.164"}}}
	var got *Error
	if !errors.As(fmt.Errorf("api: %w", e), &got) {
		t.Fatal("errors.As failed")
	}
	if len(got.Fields) != 1 || got.Fields[0] != (FieldViolation{Field: "to", Reason: "not E.164"}) {
		t.Errorf("Fields = %+v, want the one violation on %q", got.Fields, "to")
	}
}
