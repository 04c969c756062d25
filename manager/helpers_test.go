package manager_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/entraemu"
	"github.com/passkeyd/passkeyd/graph"
	"github.com/passkeyd/passkeyd/manager"
	"github.com/passkeyd/passkeyd/secret"
	"github.com/passkeyd/passkeyd/store/sqlite"
)

// fakeClock is a manual clock shared by the manager, the store and the
// emulator.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// jobRecorder is the store's JobEnqueuer in manager tests: it records what
// the store enqueued in its transactions.
type jobRecorder struct {
	mu   sync.Mutex
	jobs []passkeyd.Job
}

func (r *jobRecorder) enqueue(_ context.Context, _ any, jobs []passkeyd.Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, jobs...)
	return nil
}

func (r *jobRecorder) all() []passkeyd.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]passkeyd.Job(nil), r.jobs...)
}

// hookedGraph is the real Graph client with a hook before each create, so
// a test can act while a registration is in flight.
type hookedGraph struct {
	passkeyd.GraphClient
	env *testEnv
}

func (h hookedGraph) CreateMethod(ctx context.Context, user string, req passkeyd.CreateMethodRequest) (*passkeyd.Fido2Method, error) {
	h.env.mu.Lock()
	hook := h.env.beforeCreate
	h.env.mu.Unlock()
	if hook != nil {
		hook()
	}
	m, err := h.GraphClient.CreateMethod(ctx, user, req)
	h.env.mu.Lock()
	after := h.env.afterCreate
	h.env.mu.Unlock()
	if after != nil {
		after()
	}
	return m, err
}

// testEnv is a Manager on a real SQLite store, keyring, Graph client and
// emulator, sharing one fake clock.
type testEnv struct {
	clk   *fakeClock
	emu   *entraemu.Emulator
	url   string
	caPEM string
	set   entraemu.Settings
	db    *sqlite.DB
	m     *manager.Manager
	jobs  *jobRecorder
	admin context.Context
	// sealer is the manager's keyring, for tests building a second manager.
	sealer *secret.Keyring

	mu           sync.Mutex
	beforeCreate func()
	afterCreate  func() // e.g. a panic: the node "dies" before the outcome
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestManager(t *testing.T) *testEnv {
	t.Helper()
	ctx := context.Background()
	v := &testEnv{clk: &fakeClock{t: t0}, jobs: &jobRecorder{}}
	emu, err := entraemu.New(entraemu.Options{Now: v.clk.Now})
	if err != nil {
		t.Fatalf("entraemu.New: %v", err)
	}
	srv := httptest.NewTLSServer(emu)
	t.Cleanup(srv.Close)
	v.emu, v.url, v.set = emu, srv.URL, emu.Settings()
	v.caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))

	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlite.Options{Now: v.clk.Now, Enqueue: v.jobs.enqueue})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	v.db = db
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	kr, err := secret.NewKeyring(secret.KeyID(key), key)
	if err != nil {
		t.Fatal(err)
	}
	v.sealer = kr
	v.m, err = manager.New(manager.Config{
		Store:  db,
		Sealer: kr,
		NewGraph: func(gc passkeyd.GraphConfig) (passkeyd.GraphClient, error) {
			c, err := graph.New(gc, graph.WithNow(v.clk.Now))
			if err != nil {
				return nil, err
			}
			return hookedGraph{GraphClient: c, env: v}, nil
		},
		Now:            v.clk.Now,
		GraphWriteRate: -1, // pacing is real time; see TestDeletesArePaced
		// Cheap hashing keeps tests fast; TestPasswordHashingDefaults
		// covers the real parameters.
		PasswordHashing: manager.PasswordHashing{MemoryKiB: 64, Time: 1, Threads: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	v.admin = passkeyd.WithActor(ctx, passkeyd.Actor{Kind: "token", ID: "admin1", Role: passkeyd.RoleAdmin})
	return v
}

// connectorUpdate points the connector at the emulator.
func (v *testEnv) connectorUpdate(secretValue string) passkeyd.ConnectorUpdate {
	s := passkeyd.Secret(secretValue)
	return passkeyd.ConnectorUpdate{
		Enabled:                 true,
		Cloud:                   passkeyd.CloudCustom,
		AuthorityHost:           v.url,
		GraphURL:                v.url,
		CACertPEM:               v.caPEM,
		TenantID:                v.set.TenantID,
		ClientID:                v.set.ClientID,
		ClientSecret:            &s,
		ChallengeTimeoutMinutes: 5,
	}
}

func (v *testEnv) connect(t *testing.T) {
	t.Helper()
	if _, err := v.m.UpdateConnector(v.admin, v.connectorUpdate(v.set.ClientSecret)); err != nil {
		t.Fatalf("UpdateConnector: %v", err)
	}
}

func (v *testEnv) setPolicy(t *testing.T, mode passkeyd.PolicyMode) {
	t.Helper()
	if _, _, err := v.m.UpdatePolicy(v.admin, passkeyd.Policy{ID: passkeyd.DefaultPolicyID, Name: "Default", EntraPasskey: mode}); err != nil {
		t.Fatalf("UpdatePolicy: %v", err)
	}
}

// alice creates (once) the user of the emulator's first directory user.
func (v *testEnv) alice(t *testing.T) *passkeyd.User {
	t.Helper()
	eu := v.set.Users[0]
	if u, err := v.db.UserByUPN(v.admin, eu.UPN); err == nil {
		return u
	}
	u, err := v.m.CreateUser(v.admin, passkeyd.User{UPN: eu.UPN, EntraObjectID: eu.ID, DisplayName: "Alice"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

// newDevice registers a device for alice through an invitation.
func (v *testEnv) newDevice(t *testing.T) *passkeyd.Device {
	t.Helper()
	u := v.alice(t)
	_, code, err := v.m.CreateInvitation(v.admin, u.ID, time.Hour)
	if err != nil {
		t.Fatalf("CreateInvitation: %v", err)
	}
	d, tok, err := v.m.RegisterDevice(context.Background(), code, passkeyd.DeviceInfo{Name: "Alice's phone", Platform: "android", Model: "Pixel 9"})
	if err != nil {
		t.Fatalf("RegisterDevice: %v", err)
	}
	if tok.Reveal() == "" {
		t.Fatal("RegisterDevice returned no token")
	}
	return d
}

func deviceCtx(d *passkeyd.Device) context.Context {
	return passkeyd.WithActor(context.Background(), passkeyd.Actor{Kind: "device", ID: d.ID})
}

// begin starts an enrollment and makes a credential for its options.
func (v *testEnv) begin(t *testing.T, d *passkeyd.Device, opts ...authenticator.CallOption) (*passkeyd.EnrollmentOptions, passkeyd.Credential) {
	t.Helper()
	eo, err := v.m.BeginEnrollment(deviceCtx(d), d.ID)
	if err != nil {
		t.Fatalf("BeginEnrollment: %v", err)
	}
	at, err := authenticator.New().MakeCredential(eo.PublicKey, opts...)
	if err != nil {
		t.Fatalf("MakeCredential: %v", err)
	}
	return eo, at.Credential()
}

// enroll runs a whole enrollment for d and returns the active passkey.
func (v *testEnv) enroll(t *testing.T, d *passkeyd.Device) *passkeyd.Passkey {
	t.Helper()
	eo, cred := v.begin(t, d)
	pk, err := v.m.FinishEnrollment(deviceCtx(d), d.ID, eo.EnrollmentID, cred)
	if err != nil {
		t.Fatalf("FinishEnrollment: %v", err)
	}
	return pk
}

func (v *testEnv) passkey(t *testing.T, id string) *passkeyd.Passkey {
	t.Helper()
	pk, err := v.m.Passkey(v.admin, id)
	if err != nil {
		t.Fatalf("Passkey(%s): %v", id, err)
	}
	return pk
}

func (v *testEnv) enrollment(t *testing.T, id string) *passkeyd.Enrollment {
	t.Helper()
	e, err := v.db.Enrollment(v.admin, id)
	if err != nil {
		t.Fatalf("Enrollment(%s): %v", id, err)
	}
	return e
}

// methods returns alice's FIDO2 methods at the emulator.
func (v *testEnv) methods() []entraemu.Method {
	return v.emu.Methods(v.set.TenantID, v.set.Users[0].ID)
}

func (v *testEnv) auditEvents(t *testing.T, action string) []passkeyd.AuditEvent {
	t.Helper()
	evs, err := v.m.AuditEvents(v.admin, passkeyd.AuditFilter{Action: action, Limit: passkeyd.MaxPageSize})
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	return evs
}

func wantCode(t *testing.T, err error, want passkeyd.ErrorCode) {
	t.Helper()
	if got := passkeyd.ErrorCodeOf(err); got != want {
		t.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
}

// fieldsOf returns the names of the field problems of err.
func fieldsOf(err error) map[string]bool {
	m := map[string]bool{}
	for _, f := range passkeyd.ErrorFields(err) {
		m[f.Field] = true
	}
	return m
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	return b
}

// editClientData rewrites one field of the credential's clientDataJSON.
func editClientData(t *testing.T, c passkeyd.Credential, key string, val any) passkeyd.Credential {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(unb64(t, c.ClientDataJSON), &m); err != nil {
		t.Fatal(err)
	}
	m[key] = val
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	c.ClientDataJSON = b64(b)
	return c
}

// attObj is a packed attestation object.
type attObj struct {
	Fmt      string         `cbor:"fmt"`
	AttStmt  map[string]any `cbor:"attStmt"`
	AuthData []byte         `cbor:"authData"`
}

// editAttestation decodes the attestation object, lets fn change it, and
// encodes it again.
func editAttestation(t *testing.T, c passkeyd.Credential, fn func(*attObj)) passkeyd.Credential {
	t.Helper()
	var a attObj
	if err := cbor.Unmarshal(unb64(t, c.AttestationObject), &a); err != nil {
		t.Fatalf("attestation object: %v", err)
	}
	fn(&a)
	b, err := cbor.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	c.AttestationObject = b64(b)
	return c
}
