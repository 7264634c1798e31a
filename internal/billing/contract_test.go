package billing

import (
	"testing"
	"time"
)

func TestShortfall(t *testing.T) {
	t.Parallel()
	c := Contract{MonthlyMinimum: d("100"), IncludedVolume: 1000, OverageRate: d("0.01")}
	for spend, want := range map[string]string{"0": "100", "99.999999999999999999": "0.000000000000000001", "100": "0", "250.5": "0"} {
		wantDec(t, "Shortfall("+spend+")", c.Shortfall(d(spend)), want)
	}
	wantDec(t, "no minimum", Contract{}.Shortfall(d("5")), "0")
}

func TestMonthOf(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC), "2026-11"},
		{time.Date(2026, 12, 1, 0, 30, 0, 0, berlin), "2026-11"}, // still November in UTC
		{time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), "2026-12"},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "2027-01"},
	} {
		if got := MonthOf(tc.at); got != tc.want {
			t.Errorf("MonthOf(%s) = %s, want %s", tc.at, got, tc.want)
		}
	}
}
