// Package audit makes the audit log tamper-evident: every event is sealed
// into a SHA-256 hash chain, and Verify walks the chain and names the first
// record that was changed, removed or reordered.
//
// # The chain
//
// Records are numbered 1, 2, 3, … (Seq). For each record
//
//	Hash = hex(SHA-256(PrevHashBytes || Canonical(event)))
//
// where PrevHashBytes are the 32 bytes of the previous record's Hash (hex
// decoded) and, for record 1, 32 zero bytes: its PrevHash is GenesisHash,
// 64 "0" characters. Hashes are lowercase hex.
//
// # Canonical encoding (version 1)
//
// Canonical(event) is a sequence of netstrings (djb's "<length>:<bytes>,"
// with length the decimal byte count and no leading zeros), in this order:
//
//  1. the literal "passkeyd-audit-v1"
//  2. Seq in decimal
//  3. Time in UTC as RFC 3339 with exactly six fractional digits,
//     "2006-01-02T15:04:05.000000Z"
//  4. Actor
//  5. Action
//  6. TargetType
//  7. TargetID
//  8. Outcome
//  9. Reason
//  10. RequestID
//  11. ClientRequestID
//  12. Details: "" when absent, else the canonical JSON described below
//
// Strings are their UTF-8 bytes, unescaped. PrevHash and Hash are not part
// of the encoding. Example: seq 7 starts "17:passkeyd-audit-v1,1:7,".
//
// Canonical JSON for Details: objects with keys sorted by their UTF-8 bytes
// (as Go's encoding/json sorts map keys), no insignificant whitespace,
// numbers written exactly as received, strings escaped as Go's
// encoding/json does with HTML escaping off (", \, and control characters;
// U+2028 and U+2029 as \u2028 and \u2029). Seal rewrites ev.Details into
// this form, so a store keeps exactly the bytes that were hashed; stores
// must keep Details byte for byte (SQLite TEXT, PostgreSQL text or json —
// not jsonb, which reorders keys).
//
// # What the chain detects and what it does not
//
// A changed field, a removed record, an inserted record and reordered
// records all break the chain and are reported. Removing records at the
// tail (truncation) is not detected by the chain alone: the shorter chain
// is still valid. Detecting that needs the last hash kept somewhere else:
// signed checkpoints and the copy shipped to a SIEM (below).
//
// # Checkpoints
//
// A Checkpoint states, signed with an Ed25519 key kept outside the
// database, that record Seq had hash Hash at Time. The signature covers
// netstrings of "passkeyd-audit-checkpoint-v1", Seq in decimal, Hash, Time
// as TimeFormat and KeyID (the hex of the first 8 bytes of SHA-256 of the
// 32-byte public key). Checkpoints are appended as JSON lines to a file
// (WriteCheckpoint); VerifyWithCheckpoints fails when a checkpointed
// record is missing (truncation) or has another hash (a rewrite, even
// with every later hash recomputed). NextCheckpoint verifies only what is
// new since the last checkpoint, for a periodic job.
//
// # Export
//
// Ship moves events to a Sink — SyslogSink (RFC 5424 over UDP, TCP or
// TLS) or WebhookSink (signed JSON batches) — behind a named cursor in
// the store. Delivery is at least once: receivers deduplicate by seq.
// Every exported event carries prev_hash and hash, so a receiver can
// verify the chain with its own copy.
//
// # Untrusted text
//
// Events are stored raw. Callers pass fields that came from users
// (device names, reasons quoting user input) through Sanitize before
// building events, so control and bidirectional characters cannot forge
// log lines or hide text when the log is shown.
package audit
