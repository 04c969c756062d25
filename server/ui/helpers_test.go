package ui

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/servertest"
)

// Fixed fixtures: IDs are GUIDs, as the routes require.
const (
	userID    = "11111111-1111-4111-8111-111111111111"
	deviceID  = "22222222-2222-4222-8222-222222222222"
	passkeyID = "33333333-3333-4333-8333-333333333333"
	tokenID   = "44444444-4444-4444-8444-444444444444"
	// secretValue must never appear on any page.
	secretValue     = "Abc~SuperSecretClientSecretValue"
	invitationCode  = "INVITE-CODE-123456"
	apiTokenSecret  = "pkd_apitokensecret_0123456789"
	correctPassword = "correct horse battery staple"
)

var fixedNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// fakeAuth is a small in-memory passkeyd.AdminAuthService: one admin per
// role, username = role name; tokens "session-N".
type fakeAuth struct {
	mu       sync.Mutex
	n        int
	sessions map[passkeyd.Secret]*passkeyd.AdminUser
	logins   []string
}

func newFakeAuth() *fakeAuth {
	return &fakeAuth{sessions: map[passkeyd.Secret]*passkeyd.AdminUser{}}
}

func (a *fakeAuth) CreateAdmin(context.Context, string, passkeyd.Secret, passkeyd.Role) (*passkeyd.AdminUser, error) {
	return nil, passkeyd.Errorf(passkeyd.EInternal, "not used")
}

func (a *fakeAuth) Login(_ context.Context, username string, password passkeyd.Secret) (*passkeyd.AdminUser, *passkeyd.Session, passkeyd.Secret, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.logins = append(a.logins, username)
	if username == "limited" {
		return nil, nil, "", passkeyd.Errorf(passkeyd.ERateLimited, "too many failed logins")
	}
	role := passkeyd.Role(username)
	if !role.Valid() || password.Reveal() != correctPassword {
		return nil, nil, "", passkeyd.Errorf(passkeyd.EUnauthorized, "bad credentials")
	}
	return a.open(role)
}

// open starts a session for the admin of role; the caller holds mu.
func (a *fakeAuth) open(role passkeyd.Role) (*passkeyd.AdminUser, *passkeyd.Session, passkeyd.Secret, error) {
	a.n++
	tok := passkeyd.Secret("session-" + strconv.Itoa(a.n))
	ad := &passkeyd.AdminUser{ID: "admin-" + string(role), Username: string(role), Role: role}
	a.sessions[tok] = ad
	return ad, &passkeyd.Session{ID: "s" + strconv.Itoa(a.n), AdminID: ad.ID, ExpiresAt: fixedNow.Add(passkeyd.SessionAbsoluteTimeout)}, tok, nil
}

func (a *fakeAuth) SessionAdmin(_ context.Context, tok passkeyd.Secret) (*passkeyd.AdminUser, *passkeyd.Session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ad, ok := a.sessions[tok]
	if !ok {
		return nil, nil, passkeyd.Errorf(passkeyd.EUnauthorized, "no session")
	}
	return ad, &passkeyd.Session{AdminID: ad.ID}, nil
}

func (a *fakeAuth) Logout(_ context.Context, tok passkeyd.Secret) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, tok)
	return nil
}

// session opens a session for role and returns its token.
func (a *fakeAuth) session(t testing.TB, role passkeyd.Role) passkeyd.Secret {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	_, _, tok, _ := a.open(role)
	return tok
}

// fakeService returns a servertest.Service answering every admin call
// with fixtures.
func fakeService() *servertest.Service {
	exp := fixedNow.Add(10 * 24 * time.Hour)
	conn := &passkeyd.Connector{
		ID: passkeyd.ConnectorID, Enabled: true, Cloud: passkeyd.CloudGlobal,
		TenantID: "contoso.onmicrosoft.com", ClientID: "55555555-5555-4555-8555-555555555555",
		CredentialType: passkeyd.CredentialSecret, HasClientSecret: true,
		ClientSecretHint: passkeyd.Secret(secretValue).Hint(), ClientSecretExpiresAt: &exp,
		ChallengeTimeoutMinutes: 5, DisplayNameTemplate: passkeyd.DefaultDisplayNameTemplate,
	}
	pol := passkeyd.Policy{ID: passkeyd.DefaultPolicyID, Name: "Default", EntraPasskey: passkeyd.PolicyRequired}
	user := passkeyd.User{ID: userID, UPN: "alice@contoso.com", DisplayName: "Alice"}
	dev := passkeyd.Device{ID: deviceID, UserID: userID, Name: "Alice's phone", State: passkeyd.DeviceActive}
	pk := passkeyd.Passkey{ID: passkeyID, UserID: userID, DeviceID: deviceID, DisplayName: "passkeyd phone",
		State: passkeyd.PasskeyRevokeFailed, LastError: "Graph answered 403 Authorization_RequestDenied"}
	tok := passkeyd.APIToken{ID: tokenID, Name: "ci", Last8: "89abcdef", Role: passkeyd.RoleOperator}
	return &servertest.Service{
		ConnectorFn: func(context.Context) (*passkeyd.Connector, error) { c := *conn; return &c, nil },
		UpdateConnectorFn: func(_ context.Context, u passkeyd.ConnectorUpdate) (*passkeyd.Connector, error) {
			c := *conn
			return &c, nil
		},
		TestConnectionFn: func(_ context.Context, o passkeyd.TestOptions) (*passkeyd.ConnectionReport, error) {
			return &passkeyd.ConnectionReport{OK: false, Steps: []passkeyd.ConnectionStep{
				{Name: "Token", Status: passkeyd.StepOK, Detail: "got a token"},
				{Name: "Roles claim", Status: passkeyd.StepFailed, Detail: "grant UserAuthenticationMethod.ReadWrite.All", Code: "AADSTS7000215"},
			}}, nil
		},
		ValidateCertificateFn: func(context.Context, passkeyd.CertificateUpload) (*passkeyd.CertificateReport, error) {
			return &passkeyd.CertificateReport{Valid: true, Subject: "CN=passkeyd", ThumbprintSHA1: "ABCDEF0123"}, nil
		},
		PolicyFn:   func(context.Context, string) (*passkeyd.Policy, error) { p := pol; return &p, nil },
		PoliciesFn: func(context.Context) ([]passkeyd.Policy, error) { return []passkeyd.Policy{pol}, nil },
		UpdatePolicyFn: func(_ context.Context, p passkeyd.Policy) (*passkeyd.Policy, []string, error) {
			return &p, []string{"the connector fails its test: enrollment will fail"}, nil
		},
		CreateUserFn: func(_ context.Context, u passkeyd.User) (*passkeyd.User, error) { u.ID = userID; return &u, nil },
		UserDetailFn: func(context.Context, string) (*passkeyd.UserDetail, error) {
			return &passkeyd.UserDetail{User: user, EffectivePolicy: pol, Devices: []passkeyd.Device{dev}, Passkeys: []passkeyd.Passkey{pk}}, nil
		},
		UsersFn: func(context.Context, passkeyd.UserFilter) ([]passkeyd.User, error) { return []passkeyd.User{user}, nil },
		CreateInvitationFn: func(context.Context, string, time.Duration) (*passkeyd.Invitation, passkeyd.Secret, error) {
			return &passkeyd.Invitation{ID: "inv", UserID: userID, ExpiresAt: fixedNow.Add(time.Hour)}, invitationCode, nil
		},
		DevicesFn: func(context.Context, passkeyd.DeviceFilter) ([]passkeyd.Device, error) {
			return []passkeyd.Device{dev}, nil
		},
		DeviceFn: func(context.Context, string) (*passkeyd.Device, error) { d := dev; return &d, nil },
		RemoveDeviceFn: func(context.Context, string) (*passkeyd.Device, []passkeyd.Passkey, error) {
			d := dev
			return &d, []passkeyd.Passkey{pk}, nil
		},
		PasskeysFn: func(context.Context, passkeyd.PasskeyFilter) ([]passkeyd.Passkey, error) {
			return []passkeyd.Passkey{pk}, nil
		},
		PasskeyFn: func(context.Context, string) (*passkeyd.Passkey, error) { p := pk; return &p, nil },
		RevokePasskeysFn: func(context.Context, passkeyd.PasskeyFilter) (*passkeyd.BulkRevocation, error) {
			return &passkeyd.BulkRevocation{Matched: 1, Queued: 1}, nil
		},
		OffboardUserFn: func(_ context.Context, id string) (*passkeyd.Offboarding, error) {
			return &passkeyd.Offboarding{UserID: id, InvitationsCancelled: 2, DevicesRemoved: 1, PasskeysRevoking: 3}, nil
		},
		RequestRevocationFn: func(context.Context, string) (*passkeyd.Passkey, error) { p := pk; return &p, nil },
		ReconcileFn: func(context.Context, string) (*passkeyd.DriftReport, error) {
			return &passkeyd.DriftReport{Users: 1}, nil
		},
		AuditEventsFn: func(context.Context, passkeyd.AuditFilter) ([]passkeyd.AuditEvent, error) {
			return []passkeyd.AuditEvent{{Seq: 1, Time: fixedNow, Actor: "admin:x", Action: "device.removed", TargetType: "device", TargetID: deviceID, Outcome: passkeyd.OutcomeSuccess}}, nil
		},
		VerifyAuditFn: func(context.Context) (*passkeyd.AuditReport, error) {
			return &passkeyd.AuditReport{OK: true, Events: 1}, nil
		},
		CreateAPITokenFn: func(_ context.Context, name string, role passkeyd.Role, _ time.Duration) (*passkeyd.APIToken, passkeyd.Secret, error) {
			return &passkeyd.APIToken{ID: tokenID, Name: name, Role: role}, apiTokenSecret, nil
		},
		APITokensFn:      func(context.Context) ([]passkeyd.APIToken, error) { return []passkeyd.APIToken{tok}, nil },
		DeleteAPITokenFn: func(context.Context, string) error { return nil },
	}
}

// testUI is a UI behind an httptest TLS server.
type testUI struct {
	ui   *UI
	srv  *httptest.Server
	svc  *servertest.Service
	auth *fakeAuth
}

func newTestUI(t testing.TB) *testUI {
	t.Helper()
	svc, auth := fakeService(), newFakeAuth()
	u, err := New(Config{Service: svc, Auth: auth, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(Prefix, u.Handler())
	mux.Handle("/ui", u.Handler())
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return &testUI{ui: u, srv: srv, svc: svc, auth: auth}
}

// request describes one call of do.
type request struct {
	method, path string
	session      passkeyd.Secret
	form         url.Values
	header       map[string]string
}

// response is what do returns, the body read.
type response struct {
	*http.Response
	body string
}

// do sends req without following redirects. POSTs are same-origin
// unless the header says otherwise, as a browser would send them.
func (tu *testUI) do(t testing.TB, req request) response {
	t.Helper()
	var body io.Reader
	if req.form != nil {
		body = strings.NewReader(req.form.Encode())
	}
	r, err := http.NewRequest(req.method, tu.srv.URL+req.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if req.method != http.MethodGet {
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Origin", tu.srv.URL)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	if req.session != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: req.session.Reveal()})
	}
	c := &http.Client{
		Transport:     tu.srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Response: resp, body: string(b)}
}
