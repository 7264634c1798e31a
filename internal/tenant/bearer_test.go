package tenant

import "testing"

func TestBearerToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header, want string
		ok           bool
	}{
		{"Bearer ck_abc", "ck_abc", true},
		{"bearer ck_abc", "ck_abc", true}, // RFC 9110 §11.1: the scheme is case-insensitive
		{"BEARER ck_abc", "ck_abc", true},
		{"bEaReR ck_a.b-c~d+e/f==", "ck_a.b-c~d+e/f==", true},
		{"Bearer ck_abc ", "", false}, // stray space after the token
		{"Bearer  ck_abc", "", false}, // and before it
		{"Bearer\tck_abc", "", false},
		{"Bearer ck_abc\t", "", false},
		{"Bearer ck_ a", "", false},
		{"Bearer ck_abc\x00", "", false},
		{" Bearer ck_abc", "", false},
		{"Bearer ", "", false},
		{"Bearer", "", false},
		{"", "", false},
		{"Basic ck_abc", "", false},
		{"Bearerck_abc", "", false},
	}
	for _, tt := range tests {
		got, ok := BearerToken(tt.header)
		if got != tt.want || ok != tt.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}
