package authenticator

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"
)

// DefaultAAGUID identifies passkeyd's software provider to relying parties
// (authenticator data, Graph's aaGuid, Entra's AAGUID allow/block lists).
// It is a random v4 UUID generated once for this project and never changes;
// admins who need to tell builds apart set their own with WithAAGUID.
const DefaultAAGUID = "2e654094-6d25-4fb2-8448-150efba93f9f"

// Authenticator is a software FIDO2 authenticator. It is safe for
// concurrent use. Build it with New (in memory) or with Create/Open
// (backed by an encrypted keystore file, saved after every change).
type Authenticator struct {
	mu     sync.Mutex
	aaguid uuid.UUID
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger
	cbor   cbor.EncMode
	kdf    ScryptParams

	creds []*credential // in creation order
	data  map[string]string
	store *keyfile // nil for an in-memory authenticator
}

// Option configures an Authenticator.
type Option func(*Authenticator)

// WithAAGUID overrides DefaultAAGUID.
func WithAAGUID(id uuid.UUID) Option { return func(a *Authenticator) { a.aaguid = id } }

// WithNow sets the clock (credential creation times).
func WithNow(now func() time.Time) Option { return func(a *Authenticator) { a.now = now } }

// WithRand sets the source of credential IDs, keys, salts and nonces;
// crypto/rand by default. Tests pass a seeded reader to get reproducible
// credentials; anything else must be a CSPRNG.
func WithRand(r io.Reader) Option { return func(a *Authenticator) { a.rand = r } }

// WithLogger sets the logger; nothing is logged by default. Secrets are
// never logged.
func WithLogger(l *slog.Logger) Option { return func(a *Authenticator) { a.log = l } }

// WithScryptParams sets the key derivation cost for Create (Open reads it
// from the file header). The default is DefaultScryptParams; tests lower it.
func WithScryptParams(p ScryptParams) Option { return func(a *Authenticator) { a.kdf = p } }

// New returns an in-memory authenticator with no credentials. Its state
// is lost when it is dropped; use Create or Open to persist it.
func New(opts ...Option) *Authenticator {
	em, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		// The options are a library constant; failing here is a build defect.
		panic(fmt.Sprintf("authenticator: CTAP2 CBOR options rejected: %v", err))
	}
	a := &Authenticator{
		aaguid: uuid.MustParse(DefaultAAGUID),
		now:    time.Now,
		rand:   rand.Reader,
		log:    slog.New(slog.DiscardHandler),
		cbor:   em,
		kdf:    DefaultScryptParams(),
		data:   map[string]string{},
	}
	for _, o := range opts {
		o(a)
	}
	if a.rand != rand.Reader {
		// A seeded test reader is not safe for concurrent use; crypto/rand is.
		a.rand = &lockedReader{r: a.rand}
	}
	return a
}

type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// String implements fmt.Stringer: a summary without keys or caller data,
// so that printing an Authenticator by mistake leaks nothing.
func (a *Authenticator) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return fmt.Sprintf("authenticator %s with %d credentials", a.aaguid, len(a.creds))
}

// GoString implements fmt.GoStringer (%#v) like String.
func (a *Authenticator) GoString() string { return a.String() }

// LogValue implements slog.LogValuer like String.
func (a *Authenticator) LogValue() slog.Value {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slog.GroupValue(slog.String("aaguid", a.aaguid.String()), slog.Int("credentials", len(a.creds)))
}

// AAGUID returns the AAGUID this authenticator puts in attestations.
func (a *Authenticator) AAGUID() uuid.UUID { return a.aaguid }

// credential is one held credential. It holds the private key: String and
// LogValue redact it, and it never leaves the package.
type credential struct {
	id              []byte
	rpID            string
	userID          string
	userHandle      []byte
	userName        string
	userDisplayName string
	key             crypto.Signer
	signCount       uint32
	createdAt       time.Time
	methodID        string
	credProtect     int
	hmacSecret      bool
	credRandom      []byte // hmac-secret's per-credential secret
}

// String implements fmt.Stringer without any secret.
func (c *credential) String() string {
	return fmt.Sprintf("credential %s for %s (%s)", EncodeID(c.id), c.userName, c.rpID)
}

// GoString implements fmt.GoStringer (%#v) like String.
func (c *credential) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without any secret.
func (c *credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", EncodeID(c.id)), slog.String("rp_id", c.rpID),
		slog.String("user", c.userName))
}

// CredentialInfo describes a held credential; it carries no secret.
type CredentialInfo struct {
	ID   []byte
	RPID string
	// UserID is Graph's user.id as given; UserHandle its decoded bytes.
	UserID          string
	UserHandle      []byte
	UserName        string
	UserDisplayName string
	Algorithm       int // COSE: AlgES256 or AlgRS256
	PublicKey       crypto.PublicKey
	SignCount       uint32
	CreatedAt       time.Time
	// MethodID is the Entra fido2AuthenticationMethod id, once SetMethodID
	// recorded it; "" before.
	MethodID    string
	CredProtect int
	HMACSecret  bool
}

// EncodedID returns the credential ID as base64url without padding.
func (c CredentialInfo) EncodedID() string { return EncodeID(c.ID) }

func (c *credential) info() CredentialInfo {
	return CredentialInfo{
		ID: bytes.Clone(c.id), RPID: c.rpID, UserID: c.userID, UserHandle: bytes.Clone(c.userHandle),
		UserName: c.userName, UserDisplayName: c.userDisplayName, Algorithm: algOf(c.key),
		PublicKey: c.key.Public(), SignCount: c.signCount, CreatedAt: c.createdAt,
		MethodID: c.methodID, CredProtect: c.credProtect, HMACSecret: c.hmacSecret,
	}
}

// Credentials lists the held credentials, oldest first.
func (a *Authenticator) Credentials() []CredentialInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]CredentialInfo, 0, len(a.creds))
	for _, c := range a.creds {
		out = append(out, c.info())
	}
	return out
}

// Credential returns the held credential with the given ID.
func (a *Authenticator) Credential(id []byte) (CredentialInfo, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.find(id); c != nil {
		return c.info(), true
	}
	return CredentialInfo{}, false
}

// find returns the credential with ID id; a.mu must be held.
func (a *Authenticator) find(id []byte) *credential {
	for _, c := range a.creds {
		if bytes.Equal(c.id, id) {
			return c
		}
	}
	return nil
}

// SetMethodID records the Entra method ID of a registered credential and
// persists it.
func (a *Authenticator) SetMethodID(credID []byte, methodID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.find(credID)
	if c == nil {
		return fmt.Errorf("set method ID: %w", ErrNoCredential)
	}
	old := c.methodID
	c.methodID = methodID
	if err := a.persistLocked(); err != nil {
		c.methodID = old
		return fmt.Errorf("set method ID: %w", err)
	}
	return nil
}

// Discard deletes a credential, e.g. after Graph refused to register it or
// after the passkey was revoked, and persists the change. Discarding an
// unknown ID is not an error, so that retries are safe.
func (a *Authenticator) Discard(credID []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := slices.IndexFunc(a.creds, func(c *credential) bool { return bytes.Equal(c.id, credID) })
	if i < 0 {
		return nil
	}
	c := a.creds[i]
	a.creds = slices.Delete(a.creds, i, i+1)
	if err := a.persistLocked(); err != nil {
		a.creds = slices.Insert(a.creds, i, c)
		return fmt.Errorf("discard credential: %w", err)
	}
	a.log.Info("credential discarded", "credential", c)
	return nil
}

// Data returns the caller's value for key (the provider keeps its server
// URL, device ID and device token here).
func (a *Authenticator) Data(key string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, ok := a.data[key]
	return v, ok
}

// SetData stores a caller value and persists it; it is encrypted at rest
// like the keys.
func (a *Authenticator) SetData(key, value string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	old, had := a.data[key]
	a.data[key] = value
	if err := a.persistLocked(); err != nil {
		if had {
			a.data[key] = old
		} else {
			delete(a.data, key)
		}
		return fmt.Errorf("set data %q: %w", key, err)
	}
	return nil
}

// DeleteData removes a caller value and persists the change.
func (a *Authenticator) DeleteData(key string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	old, had := a.data[key]
	if !had {
		return nil
	}
	delete(a.data, key)
	if err := a.persistLocked(); err != nil {
		a.data[key] = old
		return fmt.Errorf("delete data %q: %w", key, err)
	}
	return nil
}
