package graph

import (
	"strings"
	"unicode/utf8"

	passkeyd "github.com/passkeyd/passkeyd"
)

// maxMethodIDLength bounds a method ID. Observed IDs are the base64url of
// the credential ID plus a digit; a 1023-byte credential ID (CTAP's
// maximum) encodes to 1364 characters.
const maxMethodIDLength = 2048

// checkUser refuses a {user} that is neither an object ID nor a UPN, so that
// path tricks ("../", OData fragments, "me") never reach Graph.
func checkUser(op, user string) error {
	if passkeyd.IsGUID(user) || passkeyd.ValidUPN(user) {
		return nil
	}
	e := passkeyd.Errorf(passkeyd.EInvalid, "the Graph user must be an object ID (GUID) or a user principal name such as alice@contoso.com")
	e.Op = "graph " + op
	return e
}

// checkMethodID refuses a method ID that is empty, too long or outside the
// base64/base64url alphabet (digits included): Graph's IDs are opaque, but
// never anything else.
func checkMethodID(op, id string) error {
	ok := id != "" && len(id) <= maxMethodIDLength
	for i := 0; ok && i < len(id); i++ {
		ok = isBase64Char(id[i])
	}
	if ok {
		return nil
	}
	e := passkeyd.Errorf(passkeyd.EInvalid, "the FIDO2 method ID must be 1 to %d base64 or base64url characters", maxMethodIDLength)
	e.Op = "graph " + op
	return e
}

func isBase64Char(c byte) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return true
	}
	return c == '-' || c == '_' || c == '+' || c == '/' || c == '='
}

// escapeSegment percent-encodes everything but RFC 3986 unreserved
// characters. It is stricter than url.PathEscape, which leaves '@', '+'
// and '=' alone: Graph's own examples encode the UPN as alice%40contoso.com.
func escapeSegment(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// checkDisplayName enforces Graph's 1..30 characters for displayName.
func checkDisplayName(name string) bool {
	n := utf8.RuneCountInString(name)
	return n >= 1 && n <= passkeyd.MaxDisplayNameLength && utf8.ValidString(name) && passkeyd.Printable(name)
}
