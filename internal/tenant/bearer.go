package tenant

import (
	"strings"
	"unicode"
)

// BearerToken is the token of an Authorization header in the Bearer scheme (RFC 6750,
// RFC 9110 §11): the scheme matches in any case, and exactly one space separates it
// from the token. A token with whitespace or control characters around or in it is
// refused rather than trimmed, so a credential is accepted only byte for byte.
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	if strings.ContainsFunc(token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "", false
	}
	return token, true
}
