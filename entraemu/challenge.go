package entraemu

import (
	"crypto/rand"
	"crypto/sha256"
	"time"
)

// Challenge sizes. Registration challenges are large like Entra's (which
// carry its state; observed ~7 KB) so clients are tested with realistic
// sizes; the emulator keeps its state in memory, referenced by the
// challenge's SHA-256.
const (
	createChallengeBytes = 4096
	signInChallengeBytes = 32
	maxChallenges        = 1 << 20 // outstanding challenges, bounding memory
	pruneEvery           = time.Minute
)

type challengePurpose int

const (
	purposeCreate challengePurpose = iota + 1
	purposeSignIn
)

// challengeState binds a challenge to its tenant, user and expiry.
type challengeState struct {
	purpose  challengePurpose
	tenantID string
	userID   string // empty for a sign-in that named no user
	expires  time.Time
}

// newChallenge stores state for a fresh random challenge and returns it
// base64url-encoded; ok is false when too many are outstanding.
func (e *Emulator) newChallenge(st challengeState, size int) (string, bool) {
	b := make([]byte, size)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	ch := b64(b)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pruneLocked(e.now())
	if len(e.challenges) >= maxChallenges {
		return "", false
	}
	e.challenges[sha256.Sum256([]byte(ch))] = &st
	return ch, true
}

// lookupChallengeLocked returns the state of a challenge; caller holds e.mu.
func (e *Emulator) lookupChallengeLocked(ch string) (*challengeState, [32]byte) {
	k := sha256.Sum256([]byte(ch))
	return e.challenges[k], k
}

// pruneLocked drops expired challenges and assertion IDs, at most once a
// minute; caller holds e.mu.
func (e *Emulator) pruneLocked(now time.Time) {
	if now.Sub(e.lastPrune) < pruneEvery && len(e.challenges) < maxChallenges {
		return
	}
	e.lastPrune = now
	for k, st := range e.challenges {
		if now.After(st.expires) {
			delete(e.challenges, k)
		}
	}
	for k, exp := range e.jtis {
		if now.After(exp) {
			delete(e.jtis, k)
		}
	}
}
