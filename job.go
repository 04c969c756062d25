package passkeyd

import "time"

// JobKind names a background job.
type JobKind string

// Job kinds.
const (
	JobRevokePasskey JobKind = "revoke_passkey"
	// JobResolvePasskey settles a passkey whose create outcome is unknown.
	JobResolvePasskey JobKind = "resolve_passkey"
)

// Job is a unit of background work, enqueued in the same transaction as the
// change that causes it.
type Job struct {
	Kind      JobKind
	PasskeyID string
}

// RetryLater is returned by job work that must be tried again after a
// delay (throttling, Entra unavailable, a registration in flight): the job
// queue reschedules the job instead of sleeping, and it costs no attempt.
type RetryLater struct {
	After  time.Duration
	Reason string
	Err    error
}

// Error implements error.
func (r *RetryLater) Error() string { return "retry in " + r.After.String() + ": " + r.Reason }

// Unwrap returns the cause.
func (r *RetryLater) Unwrap() error { return r.Err }
