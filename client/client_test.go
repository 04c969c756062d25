package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/client"
	"github.com/passkeyd/passkeyd/server"
	"github.com/passkeyd/passkeyd/server/servertest"
)

const (
	userID    = "11111111-1111-4111-8111-111111111111"
	deviceID  = "22222222-2222-4222-8222-222222222222"
	passkeyID = "33333333-3333-4333-8333-333333333333"
	tokenID   = "44444444-4444-4444-8444-444444444444"
	enrollID  = "55555555-5555-4555-8555-555555555555"

	adminToken  passkeyd.Secret = "admin-token-0123456789"
	deviceToken passkeyd.Secret = "device-token-0123456789"
)

var now = time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)

// newFake returns a fake that authenticates adminToken and deviceToken.
func newFake() *servertest.Service {
	return &servertest.Service{
		AuthenticateTokenFn: func(_ context.Context, tok passkeyd.Secret) (*passkeyd.APIToken, error) {
			if tok == adminToken {
				return &passkeyd.APIToken{ID: tokenID, Role: passkeyd.RoleAdmin}, nil
			}
			return nil, passkeyd.Errorf(passkeyd.EUnauthorized, "unknown token")
		},
		AuthenticateDeviceFn: func(_ context.Context, tok passkeyd.Secret) (*passkeyd.Device, error) {
			if tok == deviceToken {
				return &passkeyd.Device{ID: deviceID, State: passkeyd.DeviceActive}, nil
			}
			return nil, passkeyd.Errorf(passkeyd.EUnauthorized, "unknown token")
		},
	}
}

// newClient serves svc over httptest and returns a client of it
// authenticated with tok.
func newClient(t *testing.T, svc passkeyd.Service, tok passkeyd.Secret, opts ...client.Option) *client.Client {
	t.Helper()
	s, err := server.New(server.Config{Service: svc, Version: "v9", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	c, err := client.New(ts.URL+"/", append([]client.Option{client.WithToken(tok), client.WithHTTPClient(ts.Client())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// same fails the test unless got deep-equals want.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

func TestAdminRoundTrips(t *testing.T) {
	ctx := context.Background()
	svc := newFake()
	c := newClient(t, svc, adminToken)
	secret := passkeyd.Secret("client-secret-value")
	exp := now.Add(time.Hour)

	conn := passkeyd.Connector{ID: "default", Cloud: passkeyd.CloudCustom, TenantID: "contoso.onmicrosoft.com", HasClientSecret: true, ClientSecretHint: "cli********", UpdatedAt: now}
	svc.ConnectorFn = func(context.Context) (*passkeyd.Connector, error) { return &conn, nil }
	got, err := c.Connector(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Connector", *got, conn)

	upd := passkeyd.ConnectorUpdate{Enabled: true, Cloud: passkeyd.CloudCustom, AuthorityHost: "https://login.example", GraphURL: "https://graph.example",
		TenantID: "contoso.onmicrosoft.com", ClientID: tokenID, ClientSecret: &secret, ChallengeTimeoutMinutes: 60, DisplayNameTemplate: "pk {device}"}
	var gotUpd passkeyd.ConnectorUpdate
	svc.UpdateConnectorFn = func(_ context.Context, u passkeyd.ConnectorUpdate) (*passkeyd.Connector, error) {
		gotUpd = u
		return &conn, nil
	}
	if _, err := c.UpdateConnector(ctx, upd); err != nil {
		t.Fatal(err)
	}
	same(t, "UpdateConnector", gotUpd, upd)

	rep := passkeyd.ConnectionReport{OK: false, Steps: []passkeyd.ConnectionStep{{Name: "token", Status: passkeyd.StepFailed, Detail: "bad secret", Code: "AADSTS7000215"}}}
	var gotOpts passkeyd.TestOptions
	svc.TestConnectionFn = func(_ context.Context, o passkeyd.TestOptions) (*passkeyd.ConnectionReport, error) {
		gotOpts = o
		return &rep, nil
	}
	gotRep, err := c.TestConnection(ctx, passkeyd.TestOptions{User: "alice@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "TestConnection", *gotRep, rep)
	same(t, "TestConnection options", gotOpts, passkeyd.TestOptions{User: "alice@contoso.com"})

	// Validate Certificate: the key travels to the server, never back.
	var gotUp passkeyd.CertificateUpload
	certRep := passkeyd.CertificateReport{Valid: true, KeyMatches: true, Subject: "CN=passkeyd", ThumbprintSHA1: "AB12"}
	svc.ValidateCertificateFn = func(_ context.Context, up passkeyd.CertificateUpload) (*passkeyd.CertificateReport, error) {
		gotUp = up
		return &certRep, nil
	}
	up := passkeyd.CertificateUpload{CertificatePEM: "-----BEGIN CERTIFICATE-----", PrivateKeyPEM: "-----BEGIN PRIVATE KEY-----", PKCS12: []byte{1, 2, 3}, Password: "pw"}
	gotCert, err := c.ValidateCertificate(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "ValidateCertificate", *gotCert, certRep)
	same(t, "ValidateCertificate upload", gotUp, up)

	pol := passkeyd.Policy{ID: "default", Name: "Default", EntraPasskey: passkeyd.PolicyRequired, MaxPasskeysPerUser: 3, CreatedAt: now, UpdatedAt: now}
	svc.PoliciesFn = func(context.Context) ([]passkeyd.Policy, error) { return []passkeyd.Policy{pol}, nil }
	svc.PolicyFn = func(_ context.Context, id string) (*passkeyd.Policy, error) {
		if id != "default" {
			t.Errorf("Policy(%q)", id)
		}
		return &pol, nil
	}
	var gotPol passkeyd.Policy
	svc.UpdatePolicyFn = func(_ context.Context, p passkeyd.Policy) (*passkeyd.Policy, []string, error) {
		gotPol = p
		return &pol, []string{"connector disabled"}, nil
	}
	pols, err := c.Policies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Policies", pols, []passkeyd.Policy{pol})
	p1, err := c.Policy(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Policy", *p1, pol)
	_, warnings, err := c.UpdatePolicy(ctx, pol)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "UpdatePolicy warnings", warnings, []string{"connector disabled"})
	same(t, "UpdatePolicy input", gotPol, passkeyd.Policy{ID: "default", Name: "Default", EntraPasskey: passkeyd.PolicyRequired, MaxPasskeysPerUser: 3})

	user := passkeyd.User{ID: userID, UPN: "alice@contoso.com", EntraObjectID: deviceID, DisplayName: "Alice", CreatedAt: now, UpdatedAt: now}
	svc.CreateUserFn = func(_ context.Context, u passkeyd.User) (*passkeyd.User, error) {
		same(t, "CreateUser input", u, passkeyd.User{UPN: user.UPN, EntraObjectID: user.EntraObjectID, DisplayName: user.DisplayName})
		return &user, nil
	}
	var gotUF passkeyd.UserFilter
	svc.UsersFn = func(_ context.Context, f passkeyd.UserFilter) ([]passkeyd.User, error) {
		gotUF = f
		return []passkeyd.User{user}, nil
	}
	detail := passkeyd.UserDetail{User: user, EffectivePolicy: pol, Devices: []passkeyd.Device{}, Passkeys: []passkeyd.Passkey{}}
	svc.UserDetailFn = func(context.Context, string) (*passkeyd.UserDetail, error) { return &detail, nil }
	created, err := c.CreateUser(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "CreateUser", *created, user)
	users, next, err := c.Users(ctx, passkeyd.UserFilter{Query: "ali", Page: passkeyd.Page{Cursor: "c1", Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Users", users, []passkeyd.User{user})
	same(t, "Users filter", gotUF, passkeyd.UserFilter{Query: "ali", Page: passkeyd.Page{Cursor: "c1", Limit: 1}})
	same(t, "Users next", next, userID)
	gotDetail, err := c.User(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "User", *gotDetail, detail)

	inv := passkeyd.Invitation{ID: enrollID, UserID: userID, ExpiresAt: now.Add(2 * time.Hour), CreatedAt: now}
	svc.CreateInvitationFn = func(_ context.Context, uid string, ttl time.Duration) (*passkeyd.Invitation, passkeyd.Secret, error) {
		if uid != userID || ttl != 2*time.Hour {
			t.Errorf("CreateInvitation(%q, %v)", uid, ttl)
		}
		return &inv, "ONE-TIME-CODE", nil
	}
	gotInv, code, err := c.CreateInvitation(ctx, userID, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "CreateInvitation", *gotInv, inv)
	same(t, "invitation code", code.Reveal(), "ONE-TIME-CODE")
	_, _, png, err := c.CreateInvitationQR(ctx, userID, 2*time.Hour)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("CreateInvitationQR: %v, %d bytes", err, len(png))
	}

	dev := passkeyd.Device{ID: deviceID, UserID: userID, Name: "Pixel", Platform: "android", State: passkeyd.DeviceRemoved, CreatedAt: now, UpdatedAt: now, RemovedAt: &exp}
	pk := passkeyd.Passkey{ID: passkeyID, UserID: userID, DeviceID: deviceID, EnrollmentID: enrollID, CredentialID: "AQID", AAGUID: "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4",
		DisplayName: "passkeyd Pixel", State: passkeyd.PasskeyRevoking, CreatedAt: now, UpdatedAt: now}
	var gotDF passkeyd.DeviceFilter
	var gotPF passkeyd.PasskeyFilter
	svc.DevicesFn = func(_ context.Context, f passkeyd.DeviceFilter) ([]passkeyd.Device, error) {
		gotDF = f
		return []passkeyd.Device{dev}, nil
	}
	svc.DeviceFn = func(context.Context, string) (*passkeyd.Device, error) { return &dev, nil }
	svc.RemoveDeviceFn = func(_ context.Context, id string) (*passkeyd.Device, []passkeyd.Passkey, error) {
		return &dev, []passkeyd.Passkey{pk}, nil
	}
	svc.PasskeysFn = func(_ context.Context, f passkeyd.PasskeyFilter) ([]passkeyd.Passkey, error) {
		gotPF = f
		return []passkeyd.Passkey{pk}, nil
	}
	svc.PasskeyFn = func(context.Context, string) (*passkeyd.Passkey, error) { return &pk, nil }

	devs, next, err := c.Devices(ctx, passkeyd.DeviceFilter{UserID: userID, State: passkeyd.DeviceRemoved, Page: passkeyd.Page{Limit: 5}})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Devices", devs, []passkeyd.Device{dev})
	same(t, "Devices filter", gotDF, passkeyd.DeviceFilter{UserID: userID, State: passkeyd.DeviceRemoved, Page: passkeyd.Page{Limit: 5}})
	same(t, "Devices next", next, "")
	gotDev, err := c.Device(ctx, deviceID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Device", *gotDev, dev)
	rmDev, rmPks, err := c.RemoveDevice(ctx, deviceID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "RemoveDevice", *rmDev, dev)
	same(t, "RemoveDevice passkeys", rmPks, []passkeyd.Passkey{pk})
	pf := passkeyd.PasskeyFilter{UserID: userID, DeviceID: deviceID, State: passkeyd.PasskeyRevoking, AAGUID: pk.AAGUID, Page: passkeyd.Page{Cursor: "x"}}
	pks, _, err := c.Passkeys(ctx, pf)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Passkeys", pks, []passkeyd.Passkey{pk})
	same(t, "Passkeys filter", gotPF, pf)
	gotPk, err := c.Passkey(ctx, passkeyID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Passkey", *gotPk, pk)

	ev := passkeyd.AuditEvent{Seq: 42, Time: now, Actor: "token:" + tokenID, Action: "device.removed", TargetType: "device", TargetID: deviceID,
		Outcome: passkeyd.OutcomeSuccess, RequestID: "r1", Details: json.RawMessage(`{"passkeys":1}`), PrevHash: "aa", Hash: "bb"}
	af := passkeyd.AuditFilter{AfterSeq: 41, Action: "device.removed", TargetType: "device", TargetID: deviceID, Limit: 10}
	var gotAF passkeyd.AuditFilter
	svc.AuditEventsFn = func(_ context.Context, f passkeyd.AuditFilter) ([]passkeyd.AuditEvent, error) {
		gotAF = f
		return []passkeyd.AuditEvent{ev}, nil
	}
	evs, err := c.AuditEvents(ctx, af)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "AuditEvents", evs, []passkeyd.AuditEvent{ev})
	same(t, "AuditEvents filter", gotAF, af)
	arep := passkeyd.AuditReport{OK: false, Events: 42, FirstBadSeq: 17, Problem: "hash mismatch", LastHash: "bb"}
	svc.VerifyAuditFn = func(context.Context) (*passkeyd.AuditReport, error) { return &arep, nil }
	gotArep, err := c.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "VerifyAudit", *gotArep, arep)

	tok := passkeyd.APIToken{ID: tokenID, Name: "ci", Last8: "23456789", Role: passkeyd.RoleOperator, ExpiresAt: &exp, CreatedAt: now}
	svc.CreateAPITokenFn = func(_ context.Context, name string, role passkeyd.Role, ttl time.Duration) (*passkeyd.APIToken, passkeyd.Secret, error) {
		if name != "ci" || role != passkeyd.RoleOperator || ttl != time.Hour {
			t.Errorf("CreateAPIToken(%q, %q, %v)", name, role, ttl)
		}
		return &tok, "pkd_0123456789abcdef23456789", nil
	}
	svc.APITokensFn = func(context.Context) ([]passkeyd.APIToken, error) { return []passkeyd.APIToken{tok}, nil }
	var deleted string
	svc.DeleteAPITokenFn = func(_ context.Context, id string) error { deleted = id; return nil }
	gotTok, sec, err := c.CreateToken(ctx, "ci", passkeyd.RoleOperator, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "CreateToken", *gotTok, tok)
	same(t, "token secret", sec.Reveal(), "pkd_0123456789abcdef23456789")
	toks, err := c.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Tokens", toks, []passkeyd.APIToken{tok})
	if err := c.DeleteToken(ctx, tokenID); err != nil || deleted != tokenID {
		t.Errorf("DeleteToken: %v, deleted %q", err, deleted)
	}
}

func TestDeviceRoundTrips(t *testing.T) {
	ctx := context.Background()
	svc := newFake()
	// The admin token is set on purpose: registration must not send it.
	anon := newClient(t, svc, adminToken)
	dev := passkeyd.Device{ID: deviceID, UserID: userID, Name: "Pixel", Platform: "android", Model: "Pixel 9", State: passkeyd.DeviceActive, CreatedAt: now, UpdatedAt: now}
	svc.RegisterDeviceFn = func(ctx context.Context, code passkeyd.Secret, info passkeyd.DeviceInfo) (*passkeyd.Device, passkeyd.Secret, error) {
		if code.Reveal() != "ABCD-1234" || info != (passkeyd.DeviceInfo{Name: "Pixel", Platform: "android", Model: "Pixel 9"}) {
			t.Errorf("RegisterDevice(%q, %+v)", code.Reveal(), info)
		}
		return &dev, deviceToken, nil
	}
	id, tok, err := anon.RegisterDevice(ctx, "ABCD-1234", passkeyd.DeviceInfo{Name: "Pixel", Platform: "android", Model: "Pixel 9"})
	if err != nil {
		t.Fatal(err)
	}
	if id != deviceID || tok != deviceToken {
		t.Errorf("RegisterDevice = %q, %q", id, tok.Reveal())
	}
	for _, call := range svc.Calls() {
		if call == "AuthenticateToken" {
			t.Error("RegisterDevice sent the client's token")
		}
	}

	c := anon.WithToken(tok)
	st := passkeyd.DeviceStatus{Device: dev, Policy: passkeyd.PolicyOptional, Passkeys: []passkeyd.Passkey{}, NextStep: passkeyd.NextMayEnroll}
	svc.DeviceStatusFn = func(_ context.Context, id string) (*passkeyd.DeviceStatus, error) { return &st, nil }
	gotSt, err := c.DeviceStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "DeviceStatus", *gotSt, st)

	opts := passkeyd.EnrollmentOptions{EnrollmentID: enrollID, PublicKey: json.RawMessage(`{"challenge":"Y2hhbA","rp":{"id":"login.microsoft.com"}}`), ExpiresAt: now.Add(5 * time.Minute)}
	svc.BeginEnrollmentFn = func(_ context.Context, id string) (*passkeyd.EnrollmentOptions, error) { return &opts, nil }
	gotOpts, err := c.EnrollmentOptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "EnrollmentOptions", *gotOpts, opts)

	cred := passkeyd.Credential{ID: "AQID", ClientDataJSON: "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0", AttestationObject: "o2NmbXRkbm9uZQ", ClientExtensionResults: json.RawMessage(`{"credProps":{"rk":true}}`)}
	pk := passkeyd.Passkey{ID: passkeyID, DeviceID: deviceID, State: passkeyd.PasskeyActive, CreatedAt: now, UpdatedAt: now}
	svc.FinishEnrollmentFn = func(_ context.Context, devID, enrID string, got passkeyd.Credential) (*passkeyd.Passkey, error) {
		if devID != deviceID || enrID != enrollID {
			t.Errorf("FinishEnrollment(%q, %q)", devID, enrID)
		}
		same(t, "FinishEnrollment credential", got, cred)
		return &pk, nil
	}
	gotPk, err := c.CompleteEnrollment(ctx, enrollID, cred)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "CompleteEnrollment", *gotPk, pk)

	skipped := false
	svc.SkipEnrollmentFn = func(context.Context, string) error { skipped = true; return nil }
	if err := c.SkipEnrollment(ctx); err != nil || !skipped {
		t.Errorf("SkipEnrollment: %v, skipped %v", err, skipped)
	}

	svc.RemoveDeviceFn = func(_ context.Context, id string) (*passkeyd.Device, []passkeyd.Passkey, error) {
		if id != deviceID {
			t.Errorf("RemoveDevice(%q)", id)
		}
		return &dev, nil, nil
	}
	gotDev, pks, err := c.UnregisterDevice(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "UnregisterDevice", *gotDev, dev)
	if pks == nil || len(pks) != 0 {
		t.Errorf("UnregisterDevice passkeys %#v, want empty", pks)
	}

	if v, err := c.Health(ctx); err != nil || v != "v9" {
		t.Errorf("Health = %q, %v", v, err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Errorf("Ready: %v", err)
	}
}

func TestProblemDecoding(t *testing.T) {
	ctx := context.Background()
	svc := newFake()
	svc.UserDetailFn = func(context.Context, string) (*passkeyd.UserDetail, error) {
		return nil, passkeyd.Errorf(passkeyd.ENotFound, "no such user")
	}
	svc.CreateUserFn = func(context.Context, passkeyd.User) (*passkeyd.User, error) {
		return nil, passkeyd.Errorf(passkeyd.EConflict, "UPN taken")
	}
	c := newClient(t, svc, adminToken)

	_, err := c.User(ctx, userID)
	var p *client.Problem
	if !errors.As(err, &p) {
		t.Fatalf("error %T %v is not a *Problem", err, err)
	}
	if p.Status != 404 || p.Code() != passkeyd.ENotFound || p.Detail != "no such user" || p.RequestID == "" ||
		p.Type != "https://passkeyd.dev/problems/not_found" || p.Title != "Not found" {
		t.Errorf("problem %+v", p)
	}
	if passkeyd.ErrorCodeOf(err) != passkeyd.ENotFound || passkeyd.ErrorMessage(err) != "no such user" {
		t.Errorf("passkeyd.ErrorCodeOf(%v) = %q", err, passkeyd.ErrorCodeOf(err))
	}
	if !strings.Contains(err.Error(), "no such user") || !strings.Contains(err.Error(), p.RequestID) {
		t.Errorf("Error() = %q", err)
	}

	// Field errors found by the server before the service.
	_, err = c.CreateUser(ctx, passkeyd.User{UPN: "not-a-upn", EntraObjectID: "x"})
	if !errors.As(err, &p) || p.Code() != passkeyd.EInvalid || len(p.Errors) != 2 {
		t.Errorf("CreateUser: %v", err)
	}
	if fe := passkeyd.ErrorFields(err); len(fe) != 2 || fe[0].Field != "upn" {
		t.Errorf("ErrorFields = %v", fe)
	}

	// A bad token.
	bad := c.WithToken("wrong-token")
	if _, err := bad.Tokens(ctx); passkeyd.ErrorCodeOf(err) != passkeyd.EUnauthorized {
		t.Errorf("wrong token: %v", err)
	}
	// A path ID that would change the route is escaped, then rejected.
	if _, err := c.Device(ctx, "../tokens"); passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
		t.Errorf("Device(../tokens): %v", err)
	}
}

func TestNonProblemResponses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		opts    []client.Option
		code    passkeyd.ErrorCode
		problem bool
		errText string
	}{
		{name: "proxy error page", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("X-Request-ID", "proxy-1")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
		}, code: passkeyd.EUpstream, problem: true},
		{name: "teapot", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
		}, code: passkeyd.EInvalid, problem: true},
		{name: "response too large", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"items":[` + strings.Repeat(`{"id":"x"},`, 200) + `{}]}`))
		}, opts: []client.Option{client.WithMaxResponseBytes(1024)}, errText: "exceeds 1024 bytes"},
		{name: "not JSON", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(`hello`))
		}, errText: "Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(tt.handler)
			defer ts.Close()
			c, err := client.New(ts.URL, append([]client.Option{client.WithHTTPClient(ts.Client())}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Tokens(ctx)
			if err == nil {
				t.Fatal("no error")
			}
			var p *client.Problem
			if errors.As(err, &p) != tt.problem {
				t.Fatalf("error %v: Problem %v, want %v", err, p != nil, tt.problem)
			}
			if tt.problem && p.Code() != tt.code {
				t.Errorf("code %q, want %q", p.Code(), tt.code)
			}
			if !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error %q does not contain %q", err, tt.errText)
			}
		})
	}
}

func TestHeadersSent(t *testing.T) {
	var got http.Header
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ts.Close()
	c, err := client.New(ts.URL, client.WithToken("tok-1"), client.WithUserAgent("passkeyd-cli/1.0"), client.WithHTTPClient(ts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteToken(context.Background(), tokenID); err != nil {
		t.Fatal(err)
	}
	if got.Get("Authorization") != "Bearer tok-1" || got.Get("User-Agent") != "passkeyd-cli/1.0" {
		t.Errorf("headers %v", got)
	}
}

func TestNewValidatesBaseURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://", "https://h/?q=1", "https://user:pw@h", "https://h/#f", "://"} {
		if _, err := client.New(u); err == nil {
			t.Errorf("New(%q) succeeded", u)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("New(%q) error shows the password: %v", u, err)
		}
	}
	if _, err := client.New("https://passkeyd.example.com/base/"); err != nil {
		t.Errorf("New with a path: %v", err)
	}
}

func TestTTLMustBeWholeSeconds(t *testing.T) {
	c, err := client.New("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateInvitation(context.Background(), userID, 1500*time.Millisecond); err == nil {
		t.Error("fractional TTL accepted")
	}
	if _, _, err := c.CreateToken(context.Background(), "x", passkeyd.RoleAdmin, -time.Second); err == nil {
		t.Error("negative TTL accepted")
	}
}
