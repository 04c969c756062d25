package authenticator

import (
	"encoding/base64"
	"errors"
	"strings"
)

// maxIDLength bounds an encoded credential or method ID; real ones are
// 43–90 characters.
const maxIDLength = 1024

var errBadID = errors.New("not base64 or base64url")

// EncodeID is the one encoding passkeyd emits for binary values:
// base64url without padding.
func EncodeID(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// DecodeID decodes a credential ID as Graph may send it (graph-api.md §6):
// standard base64 with + / =, base64url with or without = padding, or
// base64url followed by a .NET padding digit (0, 1 or 2). It normalises the
// alphabet, strips =, and decodes; only if that fails and the last
// character is a digit does it drop the digit and try again. Deciding on
// the digit eagerly breaks IDs whose encoding merely ends in a digit.
//
// Note that a 32-byte ID with the digit "1" decodes without error to 33
// wrong bytes; code that matches against known IDs (an allow or exclude
// list) should use IDCandidates.
func DecodeID(s string) ([]byte, error) {
	if len(s) > maxIDLength {
		return nil, errors.New("credential ID too long")
	}
	n := normaliseID(s)
	if b, err := base64.RawURLEncoding.Strict().DecodeString(n); err == nil && len(b) > 0 {
		return b, nil
	}
	if d, ok := dropPaddingDigit(n); ok {
		if b, err := base64.RawURLEncoding.Strict().DecodeString(d); err == nil && len(b) > 0 {
			return b, nil
		}
	}
	return nil, errBadID
}

// IDCandidates returns every value s may stand for: the plain decoding
// and, when s ends in a padding digit that leaves a valid encoding, the
// value without the digit. Matching held IDs against all candidates
// catches the .NET form even where the plain decode happens to succeed;
// a false match would need two credential IDs that differ only in a final
// byte, which random 32-byte IDs never do. Nil when s is not an ID.
func IDCandidates(s string) [][]byte {
	if len(s) > maxIDLength {
		return nil
	}
	var out [][]byte
	n := normaliseID(s)
	if b, err := base64.RawURLEncoding.DecodeString(n); err == nil && len(b) > 0 {
		out = append(out, b)
	}
	if d, ok := dropPaddingDigit(n); ok {
		if b, err := base64.RawURLEncoding.DecodeString(d); err == nil && len(b) > 0 {
			out = append(out, b)
		}
	}
	return out
}

// normaliseID maps standard base64 to base64url and strips = padding.
func normaliseID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return strings.TrimRight(s, "=")
}

// dropPaddingDigit removes a trailing .NET padding digit when the digit
// matches the padding the remaining length implies: 0 for a multiple of
// four, 1 for three left over, 2 for two left over.
func dropPaddingDigit(s string) (string, bool) {
	if len(s) < 2 {
		return "", false
	}
	d := s[len(s)-1]
	rest := s[:len(s)-1]
	var want byte
	switch len(rest) % 4 {
	case 0:
		want = '0'
	case 3:
		want = '1'
	case 2:
		want = '2'
	default:
		return "", false
	}
	return rest, d == want
}
