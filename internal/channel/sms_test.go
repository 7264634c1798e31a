package channel

import (
	"strings"
	"testing"
)

// TestSMSParts pins the GSM 03.38 / UCS-2 arithmetic that billing and the SMPP
// connector rely on.
func TestSMSParts(t *testing.T) {
	t.Parallel()
	emoji := "😀" // outside the BMP: a surrogate pair, 2 UTF-16 units
	tests := []struct {
		name, text string
		enc        string
		parts      int
	}{
		{"empty", "", GSM7, 1},
		{"160 GSM", strings.Repeat("a", 160), GSM7, 1},
		{"161 GSM", strings.Repeat("a", 161), GSM7, 2},
		{"306 GSM = 2×153", strings.Repeat("a", 306), GSM7, 2},
		{"307 GSM", strings.Repeat("a", 307), GSM7, 3},
		{"1530 GSM = 10 parts", strings.Repeat("a", 1530), GSM7, 10},
		{"whole basic table", gsmBasic[:strings.IndexByte(gsmBasic, 0x1b)] + gsmBasic[strings.IndexByte(gsmBasic, 0x1b)+1:], GSM7, 1},
		{"€ counts 2: 80 fit", strings.Repeat("€", 80), GSM7, 1},
		{"€ counts 2: 81 don't", strings.Repeat("€", 81), GSM7, 2},
		{"159 + one extension char", strings.Repeat("a", 159) + "^", GSM7, 2},
		{"every extension char", "\f^{}\\[~]|€", GSM7, 1},
		{"escape not split across parts", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152), GSM7, 3},
		{"ç is not GSM-7", "ç", UCS2, 1},
		{"backtick is not GSM-7", "`", UCS2, 1},
		{"70 UCS-2", strings.Repeat("中", 70), UCS2, 1},
		{"71 UCS-2", strings.Repeat("中", 71), UCS2, 2},
		{"134 UCS-2 = 2×67", strings.Repeat("中", 134), UCS2, 2},
		{"135 UCS-2", strings.Repeat("中", 135), UCS2, 3},
		{"one emoji forces UCS-2", "hello " + emoji, UCS2, 1},
		{"35 emoji = 70 units", strings.Repeat(emoji, 35), UCS2, 1},
		{"36 emoji = 72 units", strings.Repeat(emoji, 36), UCS2, 2},
		{"69 GSM + emoji = 71 units", strings.Repeat("a", 69) + emoji, UCS2, 2},
		{"surrogate pair not split", strings.Repeat("中", 66) + emoji + strings.Repeat("中", 66), UCS2, 3},
		{"670 UCS-2 = 10 parts", strings.Repeat("中", 670), UCS2, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			enc, parts := SMSParts(tt.text)
			if enc != tt.enc || parts != tt.parts {
				t.Errorf("SMSParts = %s, %d; want %s, %d", enc, parts, tt.enc, tt.parts)
			}
		})
	}
}

func TestUSSDLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text     string
		enc      string
		n, limit int
	}{
		{strings.Repeat("a", 182), GSM7, 182, 182},
		{strings.Repeat("a", 180) + "€", GSM7, 182, 182},
		{strings.Repeat("中", 80), UCS2, 80, 80},
	}
	for _, tt := range tests {
		if enc, n, limit := ussdLength(tt.text); enc != tt.enc || n != tt.n || limit != tt.limit {
			t.Errorf("ussdLength(%.10q…) = %s %d %d; want %s %d %d", tt.text, enc, n, limit, tt.enc, tt.n, tt.limit)
		}
	}
}
