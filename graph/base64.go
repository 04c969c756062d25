package graph

import (
	"encoding/base64"
	"errors"
	"strings"
)

// EncodeBase64URL encodes b as base64url without padding, the only form
// passkeyd ever sends to Graph.
func EncodeBase64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// DecodeBase64Tolerant decodes the binary encodings Graph has been seen to
// use (graph-api.md §6): base64url, standard base64 with '+', '/' and '='
// padding, and base64url followed by a .NET padding digit (0, 1 or 2).
//
// The alphabet is normalised and '=' padding stripped first; only when that
// does not decode and the last character is a digit that makes the length
// consistent is the digit dropped and decoding tried again. Trying the
// digit rule first would corrupt valid inputs that happen to end in a digit.
func DecodeBase64Tolerant(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("base64: empty value")
	}
	// encoding/base64 skips '\r' and '\n'; an ID never holds them.
	for i := 0; i < len(s); i++ {
		if !isBase64Char(s[i]) {
			return nil, errors.New("base64: character outside the base64 and base64url alphabets")
		}
	}
	n := toURLAlphabet.Replace(s)
	n = strings.TrimRight(n, "=")
	stripped := len(s) - len(n) // the replacer keeps lengths
	if stripped > 2 {
		return nil, errors.New("base64: too much '=' padding")
	}
	// Strict refuses non-canonical trailing bits: it makes
	// encode(decode(x)) == x for every accepted canonical input and lets
	// the padding-digit fallback below catch more cases.
	rawURL := base64.RawURLEncoding.Strict()
	b, err := rawURL.DecodeString(n)
	if err == nil && len(b) > 0 {
		return b, nil
	}
	// The .NET token form never carries '=' as well as a digit.
	if stripped == 0 && len(n) >= 2 {
		last := n[len(n)-1]
		rest := n[:len(n)-1]
		if last >= '0' && last <= '2' && paddingDigitFits(len(rest), last) {
			if b2, err2 := rawURL.DecodeString(rest); err2 == nil && len(b2) > 0 {
				return b2, nil
			}
		}
	}
	return nil, errors.New("base64: not valid base64 or base64url")
}

var toURLAlphabet = strings.NewReplacer("+", "-", "/", "_")

// isCanonicalBase64URL reports whether s is unpadded base64url that
// decodes strictly, and so is already what EncodeBase64URL would make of
// DecodeBase64Tolerant(s): a device's credential fields, which passkeyd
// forwards to Graph, usually are, and need no decoding and re-encoding.
func isCanonicalBase64URL(s string) bool {
	if s == "" || len(s)%4 == 1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isURLChar[s[i]] {
			return false
		}
	}
	// The bits the last character carries beyond the last whole byte
	// must be zero (Strict decoding refuses them otherwise).
	last := strings.IndexByte(base64URLAlphabet, s[len(s)-1])
	switch len(s) % 4 {
	case 2:
		return last&0x0f == 0
	case 3:
		return last&0x03 == 0
	}
	return true
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// isURLChar is base64URLAlphabet as a table: a challenge runs to
// kilobytes, and a lookup per byte is several times a chain of ranges.
var isURLChar = func() (t [256]bool) {
	for i := range len(base64URLAlphabet) {
		t[base64URLAlphabet[i]] = true
	}
	return t
}()

// paddingDigitFits reports whether a base64url string of length n, once
// padded, would need exactly the number of '=' that digit announces.
func paddingDigitFits(n int, digit byte) bool {
	pad := (4 - n%4) % 4
	return pad != 3 && int(digit-'0') == pad
}
