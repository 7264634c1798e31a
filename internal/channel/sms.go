package channel

// SMS encodings as SMSParts names them.
const (
	GSM7 = "GSM-7"
	UCS2 = "UCS-2"
)

// gsmBasic is the GSM 03.38 (3GPP TS 23.038) default alphabet; each costs one septet.
// Only the capital Ç sits at 0x09: a lower-case ç is not GSM-7 and forces UCS-2
// rather than being silently changed.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension is the default extension table: each is ESC + char, two septets.
const gsmExtension = "\f^{}\\[~]|€"

var gsmCost = func() map[rune]int {
	m := make(map[rune]int, 140)
	for _, r := range gsmBasic {
		if r != 0x1b { // ESC introduces the extension table; it is no character
			m[r] = 1
		}
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// gsmASCII is gsmCost for ASCII, where most text is: an array index instead of a map
// look-up per character (0: not in GSM 03.38).
var gsmASCII = func() (t [128]int8) {
	for r, c := range gsmCost {
		if r < 128 {
			t[r] = int8(c)
		}
	}
	return t
}()

// costOf is a character's GSM-7 cost in septets, or 0 when it is not GSM-7.
func costOf(r rune) int {
	if r < 128 && r >= 0 {
		return int(gsmASCII[r])
	}
	return gsmCost[r]
}

// Per-part capacities: a single SMS, and one part of a concatenated SMS after the
// 6-octet UDH with an 8-bit reference (channels.md §9).
const (
	gsmSingle, gsmPart   = 160, 153
	ucs2Single, ucs2Part = 70, 67
)

// SMSParts returns the encoding ("GSM-7" or "UCS-2") and the number of parts a text
// needs. GSM-7 counts septets (extension characters such as € take 2); anything
// outside GSM 03.38 makes the whole text UCS-2, counted in UTF-16 units (a character
// outside the BMP, like most emoji, takes a surrogate pair: 2). Parts are packed
// greedily without splitting an escape sequence or a surrogate pair, since a handset
// cannot rejoin one cut in half; so the count can exceed a plain ceil(n/153). An
// empty text still takes one part.
func SMSParts(text string) (encoding string, parts int) {
	// Most texts fit one part: count them without building the per-character costs.
	gsm, septets, units := true, 0, 0
	for _, r := range text {
		if c := costOf(r); c > 0 && gsm {
			septets += c
		} else {
			gsm = false
		}
		units++
		if r > 0xFFFF {
			units++
		}
	}
	if gsm && septets <= gsmSingle {
		return GSM7, 1
	}
	if !gsm && units <= ucs2Single {
		return UCS2, 1
	}
	enc, costs := smsCosts(text)
	single, per := gsmSingle, gsmPart
	if enc == UCS2 {
		single, per = ucs2Single, ucs2Part
	}
	total := 0
	for _, c := range costs {
		total += c
	}
	if total <= single {
		return enc, 1
	}
	parts, used := 1, 0
	for _, c := range costs {
		if used+c > per {
			parts++
			used = 0
		}
		used += c
	}
	return enc, parts
}

// smsCosts returns the encoding and the cost of each character in septets (GSM-7) or
// UTF-16 units (UCS-2).
func smsCosts(text string) (string, []int) {
	costs := make([]int, 0, len(text))
	gsm := true
	for _, r := range text {
		c := costOf(r)
		if c == 0 {
			gsm = false
			break
		}
		costs = append(costs, c)
	}
	if gsm {
		return GSM7, costs
	}
	costs = costs[:0]
	for _, r := range text {
		if r > 0xFFFF { // a surrogate pair
			costs = append(costs, 2)
		} else {
			costs = append(costs, 1)
		}
	}
	return UCS2, costs
}

// ussdLength measures a USSD text: GSM-7 septets against 182, or UCS-2 units against
// 80 (the same 160-octet USSD-String).
func ussdLength(text string) (enc string, n, limit int) {
	enc, costs := smsCosts(text)
	for _, c := range costs {
		n += c
	}
	if enc == UCS2 {
		return enc, n, ussdUCS2Units
	}
	return enc, n, specs["ussd"].MaxTextChars
}

// MaxBinaryBytes bounds a binary SMS: MaxSMSParts parts of 134 octets (140 less the
// concatenation header).
const MaxBinaryBytes = MaxSMSParts * 134

// BinaryParts is how many SMS parts n octets need: one part up to 140, else 134 each.
func BinaryParts(n int) int {
	if n <= 140 {
		return 1
	}
	return (n + 133) / 134
}
