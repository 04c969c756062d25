// Package manager is passkeyd's service layer: it implements
// passkeyd.Service (the admin and device operations) and the work of the
// background jobs, on top of a passkeyd.Store and a passkeyd.GraphClient.
//
// Every state change goes through the store together with its audit event,
// and every Graph write is preceded by a recorded intent (see
// docs/architecture.md for the state machines).
package manager

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/argon2"
	"golang.org/x/time/rate"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Sealer encrypts secrets at rest (package secret implements it). aad binds
// a ciphertext to its place: "table/row/column".
type Sealer interface {
	Seal(plaintext []byte, aad string) ([]byte, error)
	Open(ciphertext []byte, aad string) ([]byte, error)
}

// GraphFactory builds a Graph client for a configuration (package graph's
// New, wrapped by cmd/passkeyd).
type GraphFactory func(cfg passkeyd.GraphConfig) (passkeyd.GraphClient, error)

// Config wires a Manager.
type Config struct {
	Store    passkeyd.Store
	Sealer   Sealer
	NewGraph GraphFactory
	Logger   *slog.Logger
	Now      func() time.Time
	// DefaultInvitationTTL applies when an invitation asks for none.
	DefaultInvitationTTL time.Duration
	// HTTPDebugPeriod is how long HTTP debug stays on once enabled
	// (default DefaultHTTPDebugPeriod).
	HTTPDebugPeriod time.Duration
	// GraphWriteRate paces this node's Graph writes (deletes) to stay
	// under the tenant's write quota instead of discovering it through
	// 429s: Microsoft publishes 3,000 writes per 150 s per app and tenant,
	// i.e. 20/s. With N nodes, give each 20/N. 0 means 20; negative
	// turns pacing off.
	GraphWriteRate float64
	// PasswordHashing are the argon2id parameters of new admin password
	// hashes (zero: DefaultPasswordHashing()).
	PasswordHashing PasswordHashing
	// MaxConcurrentHashes bounds the argon2id computations (sign-ins,
	// new admins) running at once; others wait for a slot as long as
	// their request lasts. 0 means DefaultMaxConcurrentHashes().
	MaxConcurrentHashes int
	// Metrics, when set, counts enrollment and revocation outcomes and the
	// drift of the last full reconciliation (package metrics).
	Metrics Observer
	// SettingsCacheTTL is how long device requests are served from the
	// connector and policies read last: a change made on another node,
	// or by a CLI command against the database, applies within it. 0
	// reads them on every request.
	SettingsCacheTTL time.Duration
	// ProviderAAGUIDs are the AAGUIDs of the passkey providers this
	// deployment enrolls with; Test Connection checks the tenant's AAGUID
	// restrictions against them.
	ProviderAAGUIDs []string
}

// DefaultGraphWriteRate is Graph's published identity write quota for an
// app in a tenant: 3,000 per 150 s.
const DefaultGraphWriteRate = 20

// Observer receives outcomes for metrics; *metrics.Metrics implements it.
type Observer interface {
	ObserveEnrollment(outcome string)
	ObserveRevocation(outcome string)
	ObserveDrift(missing, adopted, unmanaged int)
}

// noObserver is the Observer when none is configured.
type noObserver struct{}

func (noObserver) ObserveEnrollment(string)   {}
func (noObserver) ObserveRevocation(string)   {}
func (noObserver) ObserveDrift(int, int, int) {}

// Manager implements passkeyd.Service.
type Manager struct {
	store    passkeyd.Store
	sealer   Sealer
	newGraph GraphFactory
	log      *slog.Logger
	now      func() time.Time
	invTTL   time.Duration
	// httpDebugFor is how long HTTP debug stays on once enabled.
	httpDebugFor time.Duration
	aaguids      []string
	metrics      Observer
	pwHashing    PasswordHashing
	// hashSlots holds one token per argon2id computation running;
	// hashWaiting counts callers waiting for a slot.
	hashSlots   chan struct{}
	hashWaiting atomic.Int32
	// argon2Key is argon2.IDKey; tests replace it to observe the bound.
	argon2Key func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte
	// writes paces Graph deletes (nil: not paced).
	writes *rate.Limiter
	// regFailures counts failed invitation redemptions per client;
	// regAudit the audit events they wrote (one key), per window.
	regFailures, regAudit *failureLimiter

	mu         sync.Mutex
	graph      passkeyd.GraphClient
	graphFrom  time.Time // UpdatedAt of the connector the cached client was built from
	graphDebug bool      // its HTTP debug setting (it switches itself off)

	settings settingsCache
}

var _ passkeyd.Service = (*Manager)(nil)

// New returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil || cfg.Sealer == nil || cfg.NewGraph == nil {
		return nil, errors.New("manager: Store, Sealer and NewGraph are required")
	}
	m := &Manager{
		store:    cfg.Store,
		sealer:   cfg.Sealer,
		newGraph: cfg.NewGraph,
		log:      cfg.Logger,
		now:      cfg.Now,
		invTTL:   cfg.DefaultInvitationTTL,
		// Test Connection compares them with the tenant's lists.
		aaguids:      cfg.ProviderAAGUIDs,
		httpDebugFor: cfg.HTTPDebugPeriod,
		metrics:      cfg.Metrics,
	}
	if m.metrics == nil {
		m.metrics = noObserver{}
	}
	m.settings.ttl = cfg.SettingsCacheTTL
	n := cfg.MaxConcurrentHashes
	if n <= 0 {
		n = DefaultMaxConcurrentHashes()
	}
	m.hashSlots, m.argon2Key = make(chan struct{}, n), argon2.IDKey
	m.regFailures = newFailureLimiter(RegisterFailuresPerClient, RegisterFailureWindow, maxTrackedClients)
	m.regAudit = newFailureLimiter(RegisterFailureAuditBudget+1, RegisterFailureWindow, 1)
	m.pwHashing = cfg.PasswordHashing
	if m.pwHashing == (PasswordHashing{}) {
		m.pwHashing = DefaultPasswordHashing()
	}
	switch r := cfg.GraphWriteRate; {
	case r == 0:
		m.writes = rate.NewLimiter(DefaultGraphWriteRate, 1)
	case r > 0:
		m.writes = rate.NewLimiter(rate.Limit(r), 1)
	}
	if m.httpDebugFor <= 0 {
		m.httpDebugFor = DefaultHTTPDebugPeriod
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.settings.now = m.now
	if m.invTTL == 0 {
		m.invTTL = 24 * time.Hour
	}
	return m, nil
}

// newID returns a time-ordered unique ID (UUIDv7), so lists sort by age.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// newToken returns a random bearer credential with a recognisable prefix
// (so secret scanners can spot a leaked one).
func newToken(prefix string) passkeyd.Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return passkeyd.Secret(prefix + base64.RawURLEncoding.EncodeToString(b))
}

// hashToken is how high-entropy bearer credentials are stored: their
// SHA-256. (A slow hash adds nothing for 256-bit random values.)
func hashToken(tok passkeyd.Secret) []byte {
	h := sha256.Sum256([]byte(tok.Reveal()))
	return h[:]
}

// event builds an audit event for the actor and request of ctx.
func (m *Manager) event(ctx context.Context, action, targetType, targetID string, details any) passkeyd.AuditEvent {
	ev := passkeyd.AuditEvent{
		Time:       m.now(),
		Actor:      actorOf(ctx).String(),
		Action:     action,
		TargetType: targetType,
		TargetID:   targetID,
		Outcome:    passkeyd.OutcomeSuccess,
		RequestID:  passkeyd.RequestIDFrom(ctx),
	}
	if details != nil {
		if b, err := json.Marshal(details); err == nil && string(b) != "{}" && string(b) != "null" {
			ev.Details = b
		}
	}
	return ev
}

// failure marks ev as a failed attempt with a reason safe to store.
func failure(ev passkeyd.AuditEvent, reason string) passkeyd.AuditEvent {
	ev.Outcome = passkeyd.OutcomeFailure
	ev.Reason = reason
	return ev
}

func actorOf(ctx context.Context) passkeyd.Actor {
	a := passkeyd.ActorFrom(ctx)
	if a.Kind == "" {
		return passkeyd.SystemActor
	}
	return a
}

// audit writes events that accompany no other change. Failing to write an
// audit event of a failed attempt must not hide the original error, so it
// is logged instead of returned. The write uses a context detached from
// the request: a client that hangs up must not erase the trace.
func (m *Manager) audit(ctx context.Context, evs ...passkeyd.AuditEvent) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := m.store.AppendAudit(wctx, evs...); err != nil {
		m.log.ErrorContext(ctx, "audit write failed", "err", err, "action", evs[0].Action)
	}
}
