package passkeyd

import (
	"context"
	"time"
)

// Store persists the domain. Every method that changes state runs in one
// transaction together with the audit events it is given (appended to the
// hash chain, see package audit) and the jobs it enqueues: either all of it
// is committed or none. Not-found lookups return an *Error with ENotFound;
// a compare-and-set that finds another state returns EConflict.
//
// Implementations: store/sqlite (embedded default), store/postgres (later);
// both pass store/storetest.
type Store interface {
	// Connector returns the connector; ENotFound before it was first saved.
	Connector(ctx context.Context) (*Connector, error)
	// PutConnector creates or replaces the connector.
	PutConnector(ctx context.Context, c *Connector, ev AuditEvent) error

	Policy(ctx context.Context, id string) (*Policy, error)
	Policies(ctx context.Context) ([]Policy, error)
	// PutPolicy creates or replaces a policy.
	PutPolicy(ctx context.Context, p *Policy, ev AuditEvent) error

	// CreateUser inserts u; EConflict if its UPN or object ID is taken.
	CreateUser(ctx context.Context, u *User, ev AuditEvent) error
	User(ctx context.Context, id string) (*User, error)
	// UpdateUser saves u's display name and policy (UPN and object ID are
	// identity and do not change); ENotFound for an unknown user or policy.
	UpdateUser(ctx context.Context, u *User, ev AuditEvent) error
	// UserByUPN finds a user by UPN, case-insensitively.
	UserByUPN(ctx context.Context, upn string) (*User, error)
	Users(ctx context.Context, f UserFilter) ([]User, error)

	CreateInvitation(ctx context.Context, inv *Invitation, ev AuditEvent) error
	// RegisterDevice consumes the unused, unexpired invitation whose code
	// hash is codeHash and inserts d for its user (d.UserID is set from the
	// invitation). ENotFound for an unknown code, EGone for a used or
	// expired one (checked against now).
	RegisterDevice(ctx context.Context, codeHash []byte, now time.Time, d *Device, ev AuditEvent) error
	Device(ctx context.Context, id string) (*Device, error)
	// DeviceByTokenHash returns the device whose token hash is h, in any state.
	DeviceByTokenHash(ctx context.Context, h []byte) (*Device, error)
	Devices(ctx context.Context, f DeviceFilter) ([]Device, error)
	// SkipEnrollment records on an active device that its user declined
	// an optional passkey (Device.EnrollmentSkippedAt); EConflict if the
	// device was removed.
	SkipEnrollment(ctx context.Context, deviceID string, now time.Time, ev AuditEvent) error
	// RemoveDevice marks an active device removed, moves each of its live
	// passkeys (PasskeyState.Live) to revoking with one audit event each
	// (action "passkey.revoke_requested", same actor and request as ev)
	// and enqueues a JobRevokePasskey per passkey, all in one transaction.
	// It returns the device and the passkeys moved. EConflict if the
	// device is already removed.
	RemoveDevice(ctx context.Context, id string, now time.Time, ev AuditEvent) (*Device, []Passkey, error)

	// CreateEnrollment may commit without waiting for the disk (a lost
	// record costs the device a retry).
	CreateEnrollment(ctx context.Context, e *Enrollment, ev AuditEvent) error
	Enrollment(ctx context.Context, id string) (*Enrollment, error)
	// UpdateEnrollment saves e if the stored state is expect, else EConflict.
	UpdateEnrollment(ctx context.Context, e *Enrollment, expect EnrollmentState, ev AuditEvent) error
	// BeginRegistration records the intent to create p in Entra: e moves
	// from options_issued to registering (EConflict otherwise) and p is
	// inserted (in state registering), in one transaction, before any
	// Graph write.
	BeginRegistration(ctx context.Context, e *Enrollment, p *Passkey, ev AuditEvent) error
	// FinishRegistration saves the outcome: e (expected registering) and p
	// (expected registering) as given, in one transaction. Jobs, if any,
	// are enqueued with it (e.g. revoke a passkey whose device was removed
	// meanwhile). Like CreateEnrollment it may commit without waiting for
	// the disk: a power cut can take the outcome back, never the intent,
	// and a passkey left registering is settled by
	// manager.SweepRegistrations (listing, never a second create).
	FinishRegistration(ctx context.Context, e *Enrollment, p *Passkey, evs []AuditEvent, jobs ...Job) error

	Passkey(ctx context.Context, id string) (*Passkey, error)
	Passkeys(ctx context.Context, f PasskeyFilter) ([]Passkey, error)
	// UpdatePasskey saves p if the stored state is expect, else EConflict,
	// and enqueues jobs with it.
	UpdatePasskey(ctx context.Context, p *Passkey, expect PasskeyState, ev AuditEvent, jobs ...Job) error

	CreateAPIToken(ctx context.Context, t *APIToken, ev AuditEvent) error
	APITokenByHash(ctx context.Context, h []byte) (*APIToken, error)
	APITokens(ctx context.Context) ([]APIToken, error)
	DeleteAPIToken(ctx context.Context, id string, ev AuditEvent) error

	// CreateAdminUser inserts u (ID assigned when empty); EConflict if its
	// username is taken, case-insensitively (usernames are ASCII).
	CreateAdminUser(ctx context.Context, u *AdminUser, ev AuditEvent) error
	// AdminUserByUsername finds an admin by username, case-insensitively.
	AdminUserByUsername(ctx context.Context, username string) (*AdminUser, error)
	AdminUser(ctx context.Context, id string) (*AdminUser, error)
	// CountAdminUsers counts admins, disabled ones included.
	CountAdminUsers(ctx context.Context) (int, error)

	// CreateSession inserts s (ID assigned when empty) and, in the same
	// transaction, deletes its admin's dead sessions (expired, or idle for
	// SessionIdleTimeout) as of s.CreatedAt, so abandoned sessions do not
	// pile up. ENotFound if the admin does not exist.
	CreateSession(ctx context.Context, s *Session, ev AuditEvent) error
	// SessionByTokenHash returns the session whose token hash is h, live
	// or not: timeouts are the caller's to apply.
	SessionByTokenHash(ctx context.Context, h []byte) (*Session, error)
	// TouchSession moves a session's LastSeenAt forward to lastSeen (never
	// back). Not audited: it is bookkeeping. ENotFound if there is none.
	TouchSession(ctx context.Context, id string, lastSeen time.Time) error
	// DeleteSession deletes the session id; ENotFound if there is none.
	DeleteSession(ctx context.Context, id string, ev AuditEvent) error

	// RecordLoginFailure counts a failed sign-in for username (known or
	// not, compared case-insensitively) at the given time, with its audit
	// event. Failures recorded more than LoginFailureRetention before at
	// are forgotten in the same transaction.
	RecordLoginFailure(ctx context.Context, username string, at time.Time, ev AuditEvent) error
	// CountLoginFailures counts username's failures at or after since.
	CountLoginFailures(ctx context.Context, username string, since time.Time) (int, error)

	// Throttle returns the time before which calls in scope (e.g. Graph
	// writes for a tenant) must not be made; zero when not throttled. It
	// lives in the database so that every node backs off together.
	Throttle(ctx context.Context, scope string) (time.Time, error)
	// SetThrottle records notBefore for scope; a later time already stored
	// wins. Throttle state is operational, not audited.
	SetThrottle(ctx context.Context, scope string, notBefore time.Time) error

	// Cursor returns a named position (e.g. the last audit seq shipped to
	// a sink), 0 when never set; SetCursor moves it, only forward, and
	// only from the value the caller read (compare-and-set: EConflict
	// when another node moved it meanwhile).
	Cursor(ctx context.Context, name string) (int64, error)
	SetCursor(ctx context.Context, name string, from, to int64) error

	// BeginIdempotent claims (scope, key) for a request whose body hashes
	// to reqHash. It returns nil when the caller now owns the key; the
	// stored record when the request already completed (Done true);
	// EConflict when it is still running; EUnprocessable when the key was
	// used with another request. Records older than expiresBefore are
	// forgotten first.
	BeginIdempotent(ctx context.Context, scope, key string, reqHash []byte, now, expiresBefore time.Time) (*IdempotencyRecord, error)
	// FinishIdempotent stores the response of a claimed key.
	FinishIdempotent(ctx context.Context, scope, key string, status int, sealedBody []byte) error
	// AbandonIdempotent releases a claimed key whose request failed in a
	// way worth retrying, so the retry runs again.
	AbandonIdempotent(ctx context.Context, scope, key string) error

	// AppendAudit writes events that accompany no other change (e.g. a
	// failed attempt, a Graph call's outcome).
	AppendAudit(ctx context.Context, evs ...AuditEvent) error
	// AuditEvents lists events in ascending Seq order.
	AuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)

	// CancelInvitations marks every unused invitation of userID as used
	// at now, so that its code registers nothing (RegisterDevice answers
	// EGone), with ev when any was, in one transaction; it returns how
	// many it cancelled. ENotFound for an unknown user. (Offboarding.)
	CancelInvitations(ctx context.Context, userID string, now time.Time, ev AuditEvent) (int, error)

	Close() error
}

// LoginFailureRetention is how long the store keeps failed sign-ins:
// longer than any window they are counted over (an hour, see
// MaxFailedLogins).
const LoginFailureRetention = 24 * time.Hour

// Page bounds a list: items after the cursor (an ID or Seq as text), at
// most Limit (the store caps it at MaxPageSize; 0 means DefaultPageSize).
type Page struct {
	Cursor string
	Limit  int
}

// Page sizes.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// UserFilter selects users; Query matches UPN or display name (substring,
// case-insensitive).
type UserFilter struct {
	Query string
	Page
}

// DeviceFilter selects devices.
type DeviceFilter struct {
	UserID string
	State  DeviceState
	Page
}

// PasskeyFilter selects passkeys.
type PasskeyFilter struct {
	UserID   string
	DeviceID string
	State    PasskeyState
	AAGUID   string
	Page
}

// AuditFilter selects audit events; AfterSeq is the cursor.
type AuditFilter struct {
	AfterSeq   int64
	Action     string
	TargetType string
	TargetID   string
	Limit      int
}

// JobEnqueuer inserts jobs into the queue inside the caller's transaction.
// tx is the store's transaction handle (*sql.Tx for store/sqlite).
type JobEnqueuer func(ctx context.Context, tx any, jobs []Job) error

// IdempotencyRecord is a stored outcome of a request made with an
// Idempotency-Key. The body is sealed: responses can carry secrets shown
// once (tokens, codes).
type IdempotencyRecord struct {
	Done       bool
	Status     int
	SealedBody []byte
}
