package billing

import (
	"testing"

	"github.com/shopspring/decimal"
)

func TestShare(t *testing.T) {
	t.Parallel()
	c := Commission{PartnerID: "p1", Percent: map[string]decimal.Decimal{"sms": d("10"), "*": d("2.5")}}
	capped := c
	capped.Cap = d("0.05")
	for _, tc := range []struct {
		name    string
		c       Commission
		channel string
		charged string
		want    string
	}{
		{"channel percent", c, "sms", "0.016929", "0.0016929"},
		{"star for other channels", c, "whatsapp", "1", "0.025"},
		{"no percent at all", Commission{PartnerID: "p1"}, "sms", "1", "0"},
		{"cap 0 is no cap", c, "sms", "100", "10"},
		{"capped", capped, "sms", "100", "0.05"},
		{"below cap", capped, "sms", "0.1", "0.01"},
		// 0.000000000000000015 × 10% = 1.5e-18: half-to-even gives 2e-18.
		{"rounded half to even up", c, "sms", "0.000000000000000015", "0.000000000000000002"},
		// 0.000000000000000025 × 10% = 2.5e-18: half-to-even gives 2e-18.
		{"rounded half to even down", c, "sms", "0.000000000000000025", "0.000000000000000002"},
		{"never more than charged", Commission{Percent: map[string]decimal.Decimal{"*": d("150")}}, "sms", "2", "2"},
		{"nothing charged", c, "sms", "0", "0"},
		{"negative charge", c, "sms", "-1", "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantDec(t, "Share", tc.c.Share(tc.channel, d(tc.charged)), tc.want)
		})
	}
}
