package sms

// gsmDefault is the GSM 03.38 (3GPP TS 23.038 §6.2.1) default alphabet in code
// order: the character at index i has code i. 0x1B is ESC, not a character. It is
// the same table internal/channel prices with; a test holds the two together.
const gsmDefault = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

const gsmEsc = 0x1B

// gsmExtension maps the default extension table (§6.2.1.1); each costs ESC + code.
var gsmExtension = map[rune]byte{
	'\f': 0x0A, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2F,
	'[': 0x3C, '~': 0x3D, ']': 0x3E, '|': 0x40, '€': 0x65,
}

// gsmTables are built from the constants above; they are lookups, not state.
var gsmToRune, gsmCode, gsmExtRune = func() ([128]rune, map[rune]byte, map[byte]rune) {
	var dec [128]rune
	enc := make(map[rune]byte, 128)
	i := 0
	for _, r := range gsmDefault {
		dec[i] = r
		if i != gsmEsc {
			enc[r] = byte(i)
		}
		i++
	}
	ext := make(map[byte]rune, len(gsmExtension))
	for r, c := range gsmExtension {
		ext[c] = r
	}
	return dec, enc, ext
}()

// appendGSM appends r's septets (1, or 2 for an extension character) to dst.
func appendGSM(dst []byte, r rune) ([]byte, bool) {
	if c, ok := gsmCode[r]; ok {
		return append(dst, c), true
	}
	if c, ok := gsmExtension[r]; ok {
		return append(dst, gsmEsc, c), true
	}
	return dst, false
}

// decodeGSM7 reads unpacked septets. It is as lenient as TS 23.038 asks a handset
// to be: ESC before a code the extension table lacks shows the default character,
// and ESC ESC or a trailing ESC shows a space. An octet above 0x7F cannot be an
// unpacked septet, so it fails: the caller may then try Latin-1, since some SMSCs
// use data_coding 0 for their own default alphabet.
func decodeGSM7(b []byte) (string, error) {
	out := make([]rune, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c > 0x7F {
			return "", invalid(ErrMalformedText, "gsm-7 octet %#02x at %d", c, i)
		}
		if c != gsmEsc {
			out = append(out, gsmToRune[c])
			continue
		}
		if i+1 == len(b) {
			out = append(out, ' ')
			break
		}
		i++
		n := b[i]
		switch r, ok := gsmExtRune[n]; {
		case ok:
			out = append(out, r)
		case n == gsmEsc:
			out = append(out, ' ')
		case n > 0x7F:
			return "", invalid(ErrMalformedText, "gsm-7 octet %#02x at %d", n, i)
		default:
			out = append(out, gsmToRune[n])
		}
	}
	return string(out), nil
}
