package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	passkeyd "github.com/passkeyd/passkeyd"
)

// GenesisHash is the PrevHash of the first record of a chain: 32 zero
// bytes, hex encoded.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// TimeFormat is how Time enters the canonical encoding: UTC, RFC 3339,
// exactly six fractional digits. Stores can use it too, so that what they
// keep sorts as text and is exactly what was hashed.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Size limits of an event's fields, in bytes. Details is the JSON text.
const (
	MaxActorSize      = 256
	MaxActionSize     = 64
	MaxTargetTypeSize = 64
	MaxTargetIDSize   = 256
	MaxReasonSize     = 2048
	MaxRequestIDSize  = 128
	MaxDetailsSize    = 16 << 10
)

// canonicalVersion is the first netstring of the encoding; a new encoding
// gets a new literal so that old records keep verifying.
const canonicalVersion = "passkeyd-audit-v1"

// Seal prepares ev to be appended after a record whose hash is prevHash
// ("" when ev is the first record): it normalises ev.Time to UTC truncated
// to the microsecond, rewrites ev.Details as canonical JSON, validates the
// event, and sets ev.PrevHash (GenesisHash for the first record) and
// ev.Hash. ev.Seq must already be set by the caller (the store assigns
// last+1). On error ev's PrevHash and Hash are left empty.
func Seal(prevHash string, ev *passkeyd.AuditEvent) error {
	ev.PrevHash, ev.Hash = "", ""
	if prevHash == "" {
		prevHash = GenesisHash
	}
	prev, err := decodeHash(prevHash)
	if err != nil {
		return passkeyd.WrapError(passkeyd.EInvalid, err, "invalid previous audit hash")
	}
	ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
	if len(ev.Details) > 0 && len(ev.Details) <= MaxDetailsSize && json.Valid(ev.Details) {
		canon, err := canonicalJSON(ev.Details)
		if err != nil {
			return passkeyd.WrapError(passkeyd.EInvalid, err, "invalid audit event details")
		}
		ev.Details = canon
	}
	if err := Validate(ev); err != nil {
		return err
	}
	sum, err := hashWith(prev, ev)
	if err != nil {
		return err
	}
	ev.PrevHash = prevHash
	ev.Hash = sum
	return nil
}

// Hash computes the hash ev must carry given ev.PrevHash, without
// changing ev. Verify uses it; so can any other checker.
func Hash(ev *passkeyd.AuditEvent) (string, error) {
	prev, err := decodeHash(ev.PrevHash)
	if err != nil {
		return "", fmt.Errorf("audit: prev_hash of record %d: %w", ev.Seq, err)
	}
	return hashWith(prev, ev)
}

func hashWith(prev []byte, ev *passkeyd.AuditEvent) (string, error) {
	canon, err := Canonical(ev)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Canonical returns the canonical encoding of ev (see the package doc).
// ev.Details must already be canonical JSON (as Seal leaves it): the
// encoding uses the stored bytes as they are, so that a changed byte is a
// changed hash.
func Canonical(ev *passkeyd.AuditEvent) ([]byte, error) {
	if ev.Time.IsZero() || ev.Time.Year() > 9999 {
		return nil, passkeyd.Errorf(passkeyd.EInvalid, "audit event time is not set or out of range")
	}
	fields := []string{
		canonicalVersion,
		strconv.FormatInt(ev.Seq, 10),
		ev.Time.UTC().Format(TimeFormat),
		ev.Actor,
		ev.Action,
		ev.TargetType,
		ev.TargetID,
		ev.Outcome,
		ev.Reason,
		ev.RequestID,
		ev.ClientRequestID,
		string(ev.Details),
	}
	var b bytes.Buffer
	for _, f := range fields {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
		b.WriteByte(',')
	}
	return b.Bytes(), nil
}

// Validate reports every problem of ev at once: required fields, sizes,
// valid UTF-8 without NUL (PostgreSQL text refuses NUL, and the hash must
// survive any store), Details as JSON of at most MaxDetailsSize bytes.
func Validate(ev *passkeyd.AuditEvent) error {
	var fe passkeyd.FieldErrors
	if ev.Seq < 1 {
		fe.Add("seq", "must be 1 or more")
	}
	if ev.Time.IsZero() || ev.Time.Year() < 1 || ev.Time.Year() > 9999 {
		fe.Add("time", "must be set to a year between 1 and 9999")
	}
	text := []struct {
		name     string
		value    string
		max      int
		required bool
	}{
		{"actor", ev.Actor, MaxActorSize, true},
		{"action", ev.Action, MaxActionSize, true},
		{"target_type", ev.TargetType, MaxTargetTypeSize, false},
		{"target_id", ev.TargetID, MaxTargetIDSize, false},
		{"reason", ev.Reason, MaxReasonSize, false},
		{"request_id", ev.RequestID, MaxRequestIDSize, false},
		{"client_request_id", ev.ClientRequestID, MaxRequestIDSize, false},
	}
	for _, f := range text {
		switch {
		case f.required && f.value == "":
			fe.Add(f.name, "is required")
		case len(f.value) > f.max:
			fe.Add(f.name, fmt.Sprintf("must be at most %d bytes", f.max))
		case !utf8.ValidString(f.value) || strings.ContainsRune(f.value, 0):
			fe.Add(f.name, "must be valid UTF-8 without NUL characters")
		}
	}
	if ev.Outcome != passkeyd.OutcomeSuccess && ev.Outcome != passkeyd.OutcomeFailure {
		fe.Add("outcome", `must be "success" or "failure"`)
	}
	switch {
	case len(ev.Details) > MaxDetailsSize:
		fe.Add("details", fmt.Sprintf("must be at most %d bytes of JSON", MaxDetailsSize))
	case len(ev.Details) > 0 && !json.Valid(ev.Details):
		fe.Add("details", "must be valid JSON")
	}
	return fe.Err("invalid audit event")
}

// canonicalJSON re-encodes a valid JSON text with sorted keys, no
// whitespace, numbers as written and no HTML escaping.
func canonicalJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode details: %w", err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode details: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

func decodeHash(s string) ([]byte, error) {
	if len(s) != sha256.Size*2 || strings.ToLower(s) != s {
		return nil, fmt.Errorf("hash must be %d lowercase hex characters", sha256.Size*2)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("hash must be lowercase hex: %w", err)
	}
	return b, nil
}
