package entraemu

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// IDEncoding selects how the emulator writes credential IDs where Graph
// has been seen to vary (graph-api.md §6), so that clients' tolerant
// decoders and opaque handling of method IDs can be tested.
type IDEncoding int

// ID encodings. The zero value is the default.
const (
	// IDEncodingBase64URL is Graph's usual form: excludeCredentials[].id
	// is base64url without padding, method IDs are base64url plus a
	// padding digit (the form observed in production, graph-api.md §4.2).
	IDEncodingBase64URL IDEncoding = iota
	// IDEncodingStdPadded writes both in the standard alphabet with
	// padding ("+", "/", "="): a method ID may then hold "/" and must be
	// percent-encoded in URLs.
	IDEncodingStdPadded
	// IDEncodingPaddingDigit writes both as base64url followed by the
	// number of "=" removed (0, 1 or 2), the .NET token form.
	IDEncodingPaddingDigit
)

// String names the encoding.
func (v IDEncoding) String() string {
	switch v {
	case IDEncodingBase64URL:
		return "base64url"
	case IDEncodingStdPadded:
		return "std-padded"
	case IDEncodingPaddingDigit:
		return "padding-digit"
	}
	return "IDEncoding(" + strconv.Itoa(int(v)) + ")"
}

// SetIDEncoding selects the encoding of excludeCredentials[].id in
// creation options and of method IDs in create, list and get responses.
// It takes effect for the next response; method IDs written in any
// encoding are accepted back by get and delete whatever the current
// setting. A value that is not one of the constants means
// IDEncodingBase64URL.
func (e *Emulator) SetIDEncoding(v IDEncoding) {
	if v < IDEncodingBase64URL || v > IDEncodingPaddingDigit {
		v = IDEncodingBase64URL
	}
	e.mu.Lock()
	e.idEncoding = v
	e.mu.Unlock()
}

// credentialIDString writes a credential ID for excludeCredentials.
func credentialIDString(id []byte, v IDEncoding) string {
	switch v {
	case IDEncodingStdPadded:
		return base64.StdEncoding.EncodeToString(id)
	case IDEncodingPaddingDigit:
		return paddingDigit(id)
	}
	return base64.RawURLEncoding.EncodeToString(id)
}

// methodIDString writes a method's ID: the stored (observed) form unless
// the standard padded alphabet is selected.
func methodIDString(m *Method, v IDEncoding) string {
	if v == IDEncodingStdPadded {
		return base64.StdEncoding.EncodeToString(m.CredentialID)
	}
	return m.ID
}

// matchesMethodID reports whether id names m in any form the emulator
// writes, so that an ID read under one setting still works after the
// setting changes.
func matchesMethodID(m *Method, id string) bool {
	return id == m.ID || id == base64.StdEncoding.EncodeToString(m.CredentialID)
}

// paddingDigit is base64url of b followed by the number of '=' padding
// characters removed (the .NET token encoding).
func paddingDigit(b []byte) string {
	s := base64.URLEncoding.EncodeToString(b)
	t := strings.TrimRight(s, "=")
	return t + strconv.Itoa(len(s)-len(t))
}
