package client

import (
	"testing"
)

func TestAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in       string
		ton, npi byte
		addr     string
		bad      bool
	}{
		{in: "+447700900123", ton: 1, npi: 1, addr: "447700900123"},
		{in: "+1", ton: 1, npi: 1, addr: "1"},
		{in: "Catalyst", ton: 5, npi: 0, addr: "Catalyst"},
		{in: "ACME 2", ton: 5, npi: 0, addr: "ACME 2"},
		{in: "12345", ton: 3, npi: 0, addr: "12345"},
		{in: "447700900123", bad: true}, // national or E.164 without '+': ambiguous
		{in: "+44770090012345678", bad: true},
		{in: "+44 7700", bad: true},
		{in: "TwelveChars!", bad: true},
		{in: "Ünïcode", bad: true},
		{in: "", bad: true},
		{in: "12", bad: true},
	} {
		a, err := Address(tc.in)
		switch {
		case tc.bad && err == nil:
			t.Errorf("Address(%q) = %v, want an error", tc.in, a)
		case !tc.bad && err != nil:
			t.Errorf("Address(%q): %v", tc.in, err)
		case !tc.bad && (a.Ton() != tc.ton || a.Npi() != tc.npi || a.Address() != tc.addr):
			t.Errorf("Address(%q) = TON %d NPI %d %q, want %d %d %q", tc.in, a.Ton(), a.Npi(), a.Address(), tc.ton, tc.npi, tc.addr)
		}
	}
}
