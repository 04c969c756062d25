package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// checkpointVersion is the first netstring of a checkpoint's signed
// encoding.
const checkpointVersion = "passkeyd-audit-checkpoint-v1"

// Problems VerifyWithCheckpoints reports beyond Verify's, at the start of
// AuditReport.Problem.
const (
	ProblemCheckpointSignature = "bad checkpoint"
	ProblemCheckpointMismatch  = "checkpoint mismatch"
	ProblemTruncated           = "truncated"
)

// Checkpoint is a signed statement, kept outside the database, that the
// audit chain had record Seq with hash Hash at Time. Because every hash
// covers all records before it, a checkpoint pins the whole prefix: a
// chain that was cut short or rewritten (even with every hash recomputed)
// no longer matches it. See the package doc for the signed encoding.
type Checkpoint struct {
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"` // Ed25519, base64 in JSON
}

// CheckpointKeyID names an Ed25519 public key: the first 8 bytes of the
// SHA-256 of its 32 bytes, hex encoded.
func CheckpointKeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// NewCheckpoint signs a checkpoint for last, the newest record of a chain
// the caller has verified, at now (kept in UTC to the microsecond).
func NewCheckpoint(last passkeyd.AuditEvent, key ed25519.PrivateKey, now time.Time) (Checkpoint, error) {
	if len(key) != ed25519.PrivateKeySize {
		return Checkpoint{}, passkeyd.Errorf(passkeyd.EInvalid, "checkpoint key is not an Ed25519 private key")
	}
	if last.Seq < 1 {
		return Checkpoint{}, passkeyd.Errorf(passkeyd.EInvalid, "checkpoint needs a record with seq 1 or more")
	}
	if _, err := decodeHash(last.Hash); err != nil {
		return Checkpoint{}, passkeyd.WrapError(passkeyd.EInvalid, err, "record %d has no valid hash to checkpoint", last.Seq)
	}
	if now.IsZero() || now.Year() > 9999 {
		return Checkpoint{}, passkeyd.Errorf(passkeyd.EInvalid, "checkpoint time is not set or out of range")
	}
	cp := Checkpoint{
		Seq:   last.Seq,
		Hash:  last.Hash,
		Time:  now.UTC().Truncate(time.Microsecond),
		KeyID: CheckpointKeyID(key.Public().(ed25519.PublicKey)),
	}
	cp.Signature = ed25519.Sign(key, cp.signed())
	return cp, nil
}

// signed is what the signature covers: netstrings of the version literal,
// Seq in decimal, Hash, Time as TimeFormat, and KeyID.
func (cp *Checkpoint) signed() []byte {
	var b bytes.Buffer
	for _, f := range []string{checkpointVersion, strconv.FormatInt(cp.Seq, 10), cp.Hash, cp.Time.UTC().Format(TimeFormat), cp.KeyID} {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
		b.WriteByte(',')
	}
	return b.Bytes()
}

// VerifyCheckpoint checks cp's fields and its signature by pub.
func VerifyCheckpoint(cp Checkpoint, pub ed25519.PublicKey) error {
	switch {
	case len(pub) != ed25519.PublicKeySize:
		return passkeyd.Errorf(passkeyd.EInvalid, "checkpoint public key is not an Ed25519 key")
	case cp.Seq < 1:
		return passkeyd.Errorf(passkeyd.EInvalid, "checkpoint seq must be 1 or more")
	case cp.Time.IsZero() || cp.Time.Year() > 9999:
		return passkeyd.Errorf(passkeyd.EInvalid, "checkpoint time is not set or out of range")
	case cp.KeyID != CheckpointKeyID(pub):
		return passkeyd.Errorf(passkeyd.EInvalid, "checkpoint was signed by key %q, not by key %q", cp.KeyID, CheckpointKeyID(pub))
	case !ed25519.Verify(pub, cp.signed(), cp.Signature):
		return passkeyd.Errorf(passkeyd.EInvalid, "checkpoint signature does not verify")
	}
	if _, err := decodeHash(cp.Hash); err != nil {
		return passkeyd.WrapError(passkeyd.EInvalid, err, "checkpoint hash is malformed")
	}
	return nil
}

// VerifyWithCheckpoints verifies the chain as Verify does and, in the same
// walk, that every checkpoint is signed by pub and that the chain has its
// Seq with exactly its Hash. A chain rewritten with recomputed hashes
// fails at the first checkpoint after the change; a chain cut short fails
// because a checkpoint's Seq is missing. Problem names the checkpoint by
// its position in cps (1-based, the file's order). For a mismatch,
// FirstBadSeq is the first record after the last checkpoint that still
// matches: the rewrite lies between it and the failing checkpoint. For a
// truncation, FirstBadSeq is the first missing record.
//
// A broken or missing checkpoint, like a broken chain, is a report with
// OK false; an error means the events could not be read or no checkpoint
// was given.
func VerifyWithCheckpoints(ctx context.Context, next PageFunc, cps []Checkpoint, pub ed25519.PublicKey) (*passkeyd.AuditReport, error) {
	if len(cps) == 0 {
		return nil, passkeyd.Errorf(passkeyd.EInvalid, "no checkpoints to verify against")
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, passkeyd.Errorf(passkeyd.EInvalid, "checkpoint public key is not an Ed25519 key")
	}
	type numbered struct {
		n  int
		cp Checkpoint
	}
	sorted := make([]numbered, len(cps))
	for i, cp := range cps {
		if err := VerifyCheckpoint(cp, pub); err != nil {
			return &passkeyd.AuditReport{Problem: fmt.Sprintf("%s: checkpoint %d (seq %d): %s",
				ProblemCheckpointSignature, i+1, cp.Seq, passkeyd.ErrorMessage(err))}, nil
		}
		sorted[i] = numbered{i + 1, cp}
	}
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].cp.Seq < sorted[j].cp.Seq })

	var (
		at          int // next checkpoint to meet
		lastMatched int64
		matchedHash = GenesisHash
		failed      *numbered
		chainHash   string // the chain's hash where failed points
	)
	rep, err := walk(ctx, next, 0, GenesisHash, func(ev *passkeyd.AuditEvent) string {
		for ; at < len(sorted) && sorted[at].cp.Seq == ev.Seq; at++ {
			if sorted[at].cp.Hash != ev.Hash {
				failed, chainHash = &sorted[at], ev.Hash
				return ProblemCheckpointMismatch
			}
			lastMatched, matchedHash = ev.Seq, ev.Hash
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	if failed != nil {
		rep.FirstBadSeq = lastMatched + 1
		rep.Events = lastMatched
		rep.LastHash = matchedHash
		rep.Problem = fmt.Sprintf("%s: checkpoint %d signed at %s vouches for seq %d with hash %s, the chain has %s: a record from seq %d to %d was rewritten",
			ProblemCheckpointMismatch, failed.n, failed.cp.Time.Format(time.RFC3339), failed.cp.Seq, failed.cp.Hash, chainHash,
			lastMatched+1, failed.cp.Seq)
		return rep, nil
	}
	if !rep.OK || at == len(sorted) {
		return rep, nil
	}
	last := sorted[len(sorted)-1]
	rep.OK = false
	rep.FirstBadSeq = rep.Events + 1
	rep.Problem = fmt.Sprintf("%s: checkpoint %d signed at %s vouches for seq %d, the chain ends at seq %d: records %d to %d at least were removed",
		ProblemTruncated, last.n, last.cp.Time.Format(time.RFC3339), last.cp.Seq, rep.Events, rep.Events+1, last.cp.Seq)
	return rep, nil
}

// NextCheckpoint verifies the records after prev, the newest checkpoint
// written (nil for none: the whole chain is verified), and signs a
// checkpoint for the newest record. It checks that the chain still has
// prev's record with prev's hash and walks on from there, so a periodic
// job costs the new records only. It returns a nil checkpoint when there
// is nothing new or when the report is not OK: a broken chain must be
// raised, never signed. rep.Events counts the records after prev.
func NextCheckpoint(ctx context.Context, next PageFunc, prev *Checkpoint, key ed25519.PrivateKey, now time.Time) (*Checkpoint, *passkeyd.AuditReport, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, nil, passkeyd.Errorf(passkeyd.EInvalid, "checkpoint key is not an Ed25519 private key")
	}
	seen, prevHash := int64(0), GenesisHash
	if prev != nil {
		if err := VerifyCheckpoint(*prev, key.Public().(ed25519.PublicKey)); err != nil {
			return nil, &passkeyd.AuditReport{Problem: fmt.Sprintf("%s: newest checkpoint (seq %d): %s",
				ProblemCheckpointSignature, prev.Seq, passkeyd.ErrorMessage(err))}, nil
		}
		page, err := next(ctx, prev.Seq-1, 1)
		if err != nil {
			return nil, nil, fmt.Errorf("audit: checkpoint: read record %d: %w", prev.Seq, err)
		}
		switch {
		case len(page) == 0 || page[0].Seq != prev.Seq:
			return nil, &passkeyd.AuditReport{FirstBadSeq: prev.Seq, Problem: fmt.Sprintf(
				"%s: the newest checkpoint vouches for seq %d, which the chain no longer has", ProblemTruncated, prev.Seq)}, nil
		case page[0].Hash != prev.Hash:
			return nil, &passkeyd.AuditReport{FirstBadSeq: prev.Seq, Problem: fmt.Sprintf(
				"%s: the newest checkpoint vouches for seq %d with hash %s, the chain has %s",
				ProblemCheckpointMismatch, prev.Seq, prev.Hash, page[0].Hash)}, nil
		}
		seen, prevHash = prev.Seq, prev.Hash
	}
	var last passkeyd.AuditEvent
	rep, err := walk(ctx, next, seen, prevHash, func(ev *passkeyd.AuditEvent) string {
		last = *ev
		return ""
	})
	if err != nil {
		return nil, nil, err
	}
	if !rep.OK || last.Seq == 0 {
		if rep.OK && prev != nil {
			rep.LastHash = prev.Hash
		}
		return nil, rep, nil
	}
	cp, err := NewCheckpoint(last, key, now)
	if err != nil {
		return nil, rep, err
	}
	return &cp, rep, nil
}
