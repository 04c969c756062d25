package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/api"
	"github.com/passkeyd/passkeyd/server/servertest"
)

// Fixed identities of the tests.
const (
	userID     = "11111111-1111-4111-8111-111111111111"
	deviceID   = "22222222-2222-4222-8222-222222222222"
	passkeyID  = "33333333-3333-4333-8333-333333333333"
	tokenID    = "44444444-4444-4444-8444-444444444444"
	enrollID   = "55555555-5555-4555-8555-555555555555"
	policyGUID = "66666666-6666-4666-8666-666666666666"
)

var testNow = time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)

// tokens maps the test bearer tokens to the role they carry.
func roleTokens() map[passkeyd.Role]string {
	return map[passkeyd.Role]string{
		passkeyd.RoleAdmin:    "admin-token-0123456789",
		passkeyd.RoleOperator: "operator-token-0123456789",
		passkeyd.RoleAuditor:  "auditor-token-0123456789",
	}
}

const deviceToken = "device-token-0123456789"

// newFake returns a fake service that knows the role tokens and the device
// token and answers every other method with plausible data.
func newFake() *servertest.Service {
	pk := passkeyd.Passkey{ID: passkeyID, UserID: userID, DeviceID: deviceID, State: passkeyd.PasskeyActive}
	dev := passkeyd.Device{ID: deviceID, UserID: userID, Name: "phone", State: passkeyd.DeviceActive}
	pol := passkeyd.Policy{ID: passkeyd.DefaultPolicyID, Name: "Default", EntraPasskey: passkeyd.PolicyOptional}
	return &servertest.Service{
		OffboardUserFn: func(_ context.Context, id string) (*passkeyd.Offboarding, error) {
			return &passkeyd.Offboarding{UserID: id, InvitationsCancelled: 1, DevicesRemoved: 1, PasskeysRevoking: 1}, nil
		},
		AuthenticateTokenFn: func(_ context.Context, tok passkeyd.Secret) (*passkeyd.APIToken, error) {
			for role, t := range roleTokens() {
				if tok.Reveal() == t {
					return &passkeyd.APIToken{ID: tokenID, Name: string(role), Role: role}, nil
				}
			}
			return nil, passkeyd.Errorf(passkeyd.EUnauthorized, "unknown token")
		},
		AuthenticateDeviceFn: func(_ context.Context, tok passkeyd.Secret) (*passkeyd.Device, error) {
			if tok.Reveal() == deviceToken {
				d := dev
				return &d, nil
			}
			return nil, passkeyd.Errorf(passkeyd.EUnauthorized, "unknown device token")
		},
		ConnectorFn: func(context.Context) (*passkeyd.Connector, error) {
			return &passkeyd.Connector{ID: passkeyd.ConnectorID, Cloud: passkeyd.CloudGlobal}, nil
		},
		UpdateConnectorFn: func(_ context.Context, u passkeyd.ConnectorUpdate) (*passkeyd.Connector, error) {
			return &passkeyd.Connector{ID: passkeyd.ConnectorID, Cloud: u.Cloud, TenantID: u.TenantID, HasClientSecret: u.ClientSecret != nil}, nil
		},
		TestConnectionFn: func(context.Context, passkeyd.TestOptions) (*passkeyd.ConnectionReport, error) {
			return &passkeyd.ConnectionReport{OK: true, Steps: []passkeyd.ConnectionStep{{Name: "token", Status: passkeyd.StepOK}}}, nil
		},
		ValidateCertificateFn: func(context.Context, passkeyd.CertificateUpload) (*passkeyd.CertificateReport, error) {
			return &passkeyd.CertificateReport{Valid: true, KeyMatches: true}, nil
		},
		PoliciesFn: func(context.Context) ([]passkeyd.Policy, error) { return []passkeyd.Policy{pol}, nil },
		PolicyFn:   func(context.Context, string) (*passkeyd.Policy, error) { p := pol; return &p, nil },
		UpdatePolicyFn: func(_ context.Context, p passkeyd.Policy) (*passkeyd.Policy, []string, error) {
			return &p, []string{"connector disabled"}, nil
		},
		CreateUserFn: func(_ context.Context, u passkeyd.User) (*passkeyd.User, error) { u.ID = userID; return &u, nil },
		UpdateUserFn: func(_ context.Context, id string, upd passkeyd.UserUpdate) (*passkeyd.User, error) {
			return &passkeyd.User{ID: id, UPN: "bob@contoso.com", DisplayName: upd.DisplayName, PolicyID: upd.PolicyID}, nil
		},
		CreatePolicyFn: func(_ context.Context, p passkeyd.Policy) (*passkeyd.Policy, []string, error) {
			p.ID = "7f1c4a0e-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
			return &p, nil, nil
		},
		UsersFn: func(context.Context, passkeyd.UserFilter) ([]passkeyd.User, error) {
			return []passkeyd.User{{ID: userID, UPN: "alice@contoso.com"}}, nil
		},
		UserDetailFn: func(context.Context, string) (*passkeyd.UserDetail, error) {
			return &passkeyd.UserDetail{User: passkeyd.User{ID: userID, UPN: "alice@contoso.com"}, EffectivePolicy: pol}, nil
		},
		CreateInvitationFn: func(_ context.Context, uid string, ttl time.Duration) (*passkeyd.Invitation, passkeyd.Secret, error) {
			return &passkeyd.Invitation{ID: enrollID, UserID: uid, ExpiresAt: testNow.Add(ttl)}, "ABCD-EFGH-IJKL", nil
		},
		DevicesFn: func(context.Context, passkeyd.DeviceFilter) ([]passkeyd.Device, error) {
			return []passkeyd.Device{dev}, nil
		},
		DeviceFn:       func(context.Context, string) (*passkeyd.Device, error) { d := dev; return &d, nil },
		RemoveDeviceFn: removed(dev, pk),
		PasskeysFn: func(context.Context, passkeyd.PasskeyFilter) ([]passkeyd.Passkey, error) {
			return []passkeyd.Passkey{pk}, nil
		},
		PasskeyFn: func(context.Context, string) (*passkeyd.Passkey, error) { p := pk; return &p, nil },
		RequestRevocationFn: func(_ context.Context, id string) (*passkeyd.Passkey, error) {
			p := pk
			p.ID, p.State = id, passkeyd.PasskeyRevoking
			return &p, nil
		},
		RevokePasskeysFn: func(context.Context, passkeyd.PasskeyFilter) (*passkeyd.BulkRevocation, error) {
			return &passkeyd.BulkRevocation{Matched: 2, Queued: 1}, nil
		},
		ReconcileFn: func(_ context.Context, uid string) (*passkeyd.DriftReport, error) {
			users := 3
			if uid != "" {
				users = 1
			}
			// Nil slices on purpose: the handler must answer [] for them.
			return &passkeyd.DriftReport{StartedAt: testNow, FinishedAt: testNow.Add(time.Second), Users: users}, nil
		},
		AuditEventsFn: func(context.Context, passkeyd.AuditFilter) ([]passkeyd.AuditEvent, error) {
			return []passkeyd.AuditEvent{{Seq: 7, Action: "device.removed"}}, nil
		},
		VerifyAuditFn: func(context.Context) (*passkeyd.AuditReport, error) {
			return &passkeyd.AuditReport{OK: true, Events: 7}, nil
		},
		APITokensFn: func(context.Context) ([]passkeyd.APIToken, error) {
			return []passkeyd.APIToken{{ID: tokenID, Name: "ci", Role: passkeyd.RoleAuditor, Last8: "89abcdef"}}, nil
		},
		CreateAPITokenFn: func(_ context.Context, name string, role passkeyd.Role, _ time.Duration) (*passkeyd.APIToken, passkeyd.Secret, error) {
			return &passkeyd.APIToken{ID: tokenID, Name: name, Role: role}, "pkd_secret_value_0123456789", nil
		},
		DeleteAPITokenFn: func(context.Context, string) error { return nil },
		RegisterDeviceFn: func(_ context.Context, _ passkeyd.Secret, info passkeyd.DeviceInfo) (*passkeyd.Device, passkeyd.Secret, error) {
			d := dev
			d.Name = info.Name
			return &d, deviceToken, nil
		},
		DeviceStatusFn: func(context.Context, string) (*passkeyd.DeviceStatus, error) {
			return &passkeyd.DeviceStatus{Device: dev, Policy: passkeyd.PolicyOptional, NextStep: passkeyd.NextMayEnroll}, nil
		},
		BeginEnrollmentFn: func(context.Context, string) (*passkeyd.EnrollmentOptions, error) {
			return &passkeyd.EnrollmentOptions{EnrollmentID: enrollID, PublicKey: json.RawMessage(`{"challenge":"abc"}`), ExpiresAt: testNow.Add(5 * time.Minute)}, nil
		},
		FinishEnrollmentFn: func(context.Context, string, string, passkeyd.Credential) (*passkeyd.Passkey, error) {
			p := pk
			return &p, nil
		},
		SkipEnrollmentFn: func(context.Context, string) error { return nil },
	}
}

func removed(dev passkeyd.Device, pk passkeyd.Passkey) func(context.Context, string) (*passkeyd.Device, []passkeyd.Passkey, error) {
	return func(context.Context, string) (*passkeyd.Device, []passkeyd.Passkey, error) {
		d := dev
		d.State = passkeyd.DeviceRemoved
		p := pk
		p.State = passkeyd.PasskeyRevoking
		return &d, []passkeyd.Passkey{p}, nil
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newServer builds a Server on svc; edit adjusts its Config. The log
// lands in the returned buffer.
func newServer(t testing.TB, svc passkeyd.Service, edit func(*Config)) (*Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg := Config{
		Service: svc,
		Logger:  slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Version: "v1.2.3",
		Now:     func() time.Time { return testNow },
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, logs
}

// req is a test request.
type req struct {
	method, path string
	token        string // bearer token; "" sends none
	body         string
	contentType  string // defaults to application/json when body is set
	header       http.Header
}

// do serves rq on s and returns the recorded response.
func do(t testing.TB, s *Server, rq req) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader = http.NoBody
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	r := httptest.NewRequest(rq.method, rq.path, body)
	if rq.body != "" {
		ct := rq.contentType
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	} else if rq.contentType != "" {
		r.Header.Set("Content-Type", rq.contentType)
	}
	if rq.token != "" {
		r.Header.Set("Authorization", "Bearer "+rq.token)
	}
	for k, v := range rq.header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

// problemOf decodes a problem response, failing the test if it is not one.
func problemOf(t testing.TB, w *httptest.ResponseRecorder) api.Problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != api.ProblemContentType {
		t.Fatalf("Content-Type = %q, want %q (status %d, body %s)", ct, api.ProblemContentType, w.Code, w.Body)
	}
	var p api.Problem
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decoding problem: %v", err)
	}
	if p.Status != w.Code {
		t.Errorf("problem status %d, response status %d", p.Status, w.Code)
	}
	if p.Type != api.ProblemTypeBase+string(p.Code) || p.Title == "" || p.RequestID == "" {
		t.Errorf("incomplete problem: %+v", p)
	}
	return p
}

// decode decodes a JSON response into v.
func decode(t testing.TB, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q (status %d, body %s)", ct, w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("decoding %s: %v", w.Body, err)
	}
}

// callsBeyondAuth returns the service calls other than authentication.
func callsBeyondAuth(svc *servertest.Service) []string {
	var out []string
	for _, c := range svc.Calls() {
		if c != "AuthenticateToken" && c != "AuthenticateDevice" {
			out = append(out, c)
		}
	}
	return out
}
