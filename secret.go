package passkeyd

import "log/slog"

// Secret is a string that must never be shown: it redacts itself in
// fmt, slog and JSON. Call Reveal where the value is really needed.
type Secret string

const redacted = "[REDACTED]"

// Reveal returns the value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON never writes the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// Hint returns a short hint safe to show, as the Entra portal does: the
// first three characters followed by asterisks, or "" when too short to hint.
func (s Secret) Hint() string {
	r := []rune(string(s))
	if len(r) < 12 {
		return ""
	}
	return string(r[:3]) + "********"
}
