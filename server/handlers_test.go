package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/api"
)

func TestCreateInvitation(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		body    string
		wantTTL time.Duration
		wantQR  bool
	}{
		{"no body: default TTL", "", "", 24 * time.Hour, false},
		{"zero TTL: default", "", `{"ttl_seconds":0}`, 24 * time.Hour, false},
		{"one hour with QR", "?qr=1", `{"ttl_seconds":3600}`, time.Hour, true},
		{"maximum", "?qr=false", `{"ttl_seconds":2592000}`, 30 * 24 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotTTL time.Duration
			svc := newFake()
			svc.CreateInvitationFn = func(_ context.Context, uid string, ttl time.Duration) (*passkeyd.Invitation, passkeyd.Secret, error) {
				gotTTL = ttl
				return &passkeyd.Invitation{ID: enrollID, UserID: uid, CodeHash: []byte("hash")}, "CODE-1234-5678", nil
			}
			s, _ := newServer(t, svc, nil)
			w := do(t, s, req{method: "POST", path: "/api/v1/users/" + userID + "/invitations" + tt.query,
				token: roleTokens()[passkeyd.RoleOperator], body: tt.body})
			if w.Code != http.StatusCreated {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var resp api.InvitationCreated
			decode(t, w, &resp)
			if gotTTL != tt.wantTTL {
				t.Errorf("ttl %v, want %v", gotTTL, tt.wantTTL)
			}
			if resp.Code != "CODE-1234-5678" || resp.Invitation.UserID != userID {
				t.Errorf("response %+v", resp)
			}
			if strings.Contains(w.Body.String(), "code_hash") {
				t.Errorf("code hash exposed: %s", w.Body)
			}
			png, err := base64.StdEncoding.DecodeString(resp.QRPNGBase64)
			if err != nil {
				t.Fatalf("qr_png_base64: %v", err)
			}
			if isPNG := bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")); isPNG != tt.wantQR {
				t.Errorf("QR PNG present %v, want %v", isPNG, tt.wantQR)
			}
		})
	}
}

func TestListFiltersAndCursor(t *testing.T) {
	var got passkeyd.PasskeyFilter
	svc := newFake()
	svc.PasskeysFn = func(_ context.Context, f passkeyd.PasskeyFilter) ([]passkeyd.Passkey, error) {
		got = f
		out := make([]passkeyd.Passkey, f.Limit)
		for i := range out {
			out[i].ID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		}
		return out, nil
	}
	s, _ := newServer(t, svc, nil)
	const aaguid = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"
	w := do(t, s, req{method: "GET", token: roleTokens()[passkeyd.RoleAuditor],
		path: "/api/v1/passkeys?user_id=" + userID + "&device_id=" + deviceID + "&state=revoke_failed&aaguid=" + aaguid + "&limit=2&cursor=abc"})
	var list api.List[passkeyd.Passkey]
	decode(t, w, &list)
	want := passkeyd.PasskeyFilter{UserID: userID, DeviceID: deviceID, State: passkeyd.PasskeyRevokeFailed, AAGUID: aaguid,
		Page: passkeyd.Page{Cursor: "abc", Limit: 2}}
	if got != want {
		t.Errorf("filter %+v, want %+v", got, want)
	}
	if len(list.Items) != 2 || list.NextCursor != "00000000-0000-4000-8000-000000000001" {
		t.Errorf("list %+v", list)
	}

	// A short page is the last one.
	svc.PasskeysFn = func(context.Context, passkeyd.PasskeyFilter) ([]passkeyd.Passkey, error) { return nil, nil }
	w = do(t, s, req{method: "GET", path: "/api/v1/passkeys", token: roleTokens()[passkeyd.RoleAuditor]})
	if body := strings.TrimSpace(w.Body.String()); body != `{"items":[]}` {
		t.Errorf("empty list body %s", body)
	}
}

func TestConnectorSecretIsWriteOnly(t *testing.T) {
	var got passkeyd.ConnectorUpdate
	svc := newFake()
	svc.UpdateConnectorFn = func(_ context.Context, u passkeyd.ConnectorUpdate) (*passkeyd.Connector, error) {
		got = u
		return &passkeyd.Connector{ID: passkeyd.ConnectorID, HasClientSecret: true, ClientSecretHint: "s3c********", SealedClientSecret: []byte("sealed")}, nil
	}
	s, _ := newServer(t, svc, nil)
	w := do(t, s, req{method: "PUT", path: "/api/v1/connectors/default", token: roleTokens()[passkeyd.RoleAdmin],
		body: `{"cloud":"global","tenant_id":"contoso.onmicrosoft.com","client_id":"` + tokenID + `","client_secret":"s3cr3t-value-long","challenge_timeout_minutes":5}`})
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got.ClientSecret == nil || got.ClientSecret.Reveal() != "s3cr3t-value-long" || got.TenantID != "contoso.onmicrosoft.com" {
		t.Errorf("service got %+v", got)
	}
	if strings.Contains(w.Body.String(), "s3cr3t-value") || strings.Contains(w.Body.String(), "sealed") {
		t.Errorf("secret echoed: %s", w.Body)
	}

	// Without client_secret the stored one is kept (nil).
	do(t, s, req{method: "PUT", path: "/api/v1/connectors/default", token: roleTokens()[passkeyd.RoleAdmin],
		body: `{"cloud":"global","challenge_timeout_minutes":5}`})
	if got.ClientSecret != nil {
		t.Errorf("absent secret became %v", got.ClientSecret)
	}
}

func TestDeviceFlow(t *testing.T) {
	var gotCode passkeyd.Secret
	var gotInfo passkeyd.DeviceInfo
	var gotCred passkeyd.Credential
	svc := newFake()
	reg := svc.RegisterDeviceFn
	svc.RegisterDeviceFn = func(ctx context.Context, code passkeyd.Secret, info passkeyd.DeviceInfo) (*passkeyd.Device, passkeyd.Secret, error) {
		gotCode, gotInfo = code, info
		return reg(ctx, code, info)
	}
	svc.FinishEnrollmentFn = func(_ context.Context, dev, enr string, c passkeyd.Credential) (*passkeyd.Passkey, error) {
		if dev != deviceID || enr != enrollID {
			t.Errorf("FinishEnrollment(%q, %q)", dev, enr)
		}
		gotCred = c
		return &passkeyd.Passkey{ID: passkeyID, State: passkeyd.PasskeyActive}, nil
	}
	s, _ := newServer(t, svc, nil)

	w := do(t, s, req{method: "POST", path: "/api/v1/device/register", body: `{"code":"ABCD-EFGH","name":"Pixel","platform":"android","model":"Pixel 9"}`})
	var reg2 api.DeviceRegistered
	decode(t, w, &reg2)
	if w.Code != 201 || reg2.DeviceID != deviceID || reg2.DeviceToken != deviceToken || reg2.Device.Name != "Pixel" {
		t.Errorf("register: %d %+v", w.Code, reg2)
	}
	if gotCode.Reveal() != "ABCD-EFGH" || gotInfo != (passkeyd.DeviceInfo{Name: "Pixel", Platform: "android", Model: "Pixel 9"}) {
		t.Errorf("service got code %q info %+v", gotCode.Reveal(), gotInfo)
	}

	w = do(t, s, req{method: "POST", path: "/api/v1/device/passkeys/options", token: deviceToken})
	if w.Code != 201 || !strings.Contains(w.Body.String(), `"public_key":{"challenge":"abc"}`) {
		t.Errorf("options: %d %s", w.Code, w.Body)
	}

	w = do(t, s, req{method: "POST", path: "/api/v1/device/passkeys", token: deviceToken,
		body: `{"enrollment_id":"` + enrollID + `","credential":{"id":"AQID","client_data_json":"e30","attestation_object":"o2M","client_extension_results":{"credProps":{"rk":true}}}}`})
	if w.Code != 201 {
		t.Fatalf("finish: %d %s", w.Code, w.Body)
	}
	if gotCred.ID != "AQID" || string(gotCred.ClientExtensionResults) != `{"credProps":{"rk":true}}` {
		t.Errorf("credential %+v", gotCred)
	}

	w = do(t, s, req{method: "DELETE", path: "/api/v1/device", token: deviceToken})
	var rm api.DeviceRemoval
	decode(t, w, &rm)
	if w.Code != http.StatusAccepted || rm.Device.State != passkeyd.DeviceRemoved || len(rm.Passkeys) != 1 {
		t.Errorf("unregister: %d %+v", w.Code, rm)
	}
}

// TestRevocationRoutes checks what the revocation routes hand to the
// service and what they answer.
func TestRevocationRoutes(t *testing.T) {
	admin := roleTokens()[passkeyd.RoleAdmin]
	svc := newFake()
	var gotID string
	svc.RequestRevocationFn = func(_ context.Context, id string) (*passkeyd.Passkey, error) {
		gotID = id
		return &passkeyd.Passkey{ID: id, State: passkeyd.PasskeyRevoking}, nil
	}
	var gotFilter passkeyd.PasskeyFilter
	svc.RevokePasskeysFn = func(_ context.Context, f passkeyd.PasskeyFilter) (*passkeyd.BulkRevocation, error) {
		gotFilter = f
		return &passkeyd.BulkRevocation{Matched: 4, Queued: 3}, nil
	}
	s, _ := newServer(t, svc, nil)

	w := do(t, s, req{method: "POST", path: "/api/v1/passkeys/" + passkeyID + "/revoke", token: admin})
	var pk passkeyd.Passkey
	decode(t, w, &pk)
	if w.Code != http.StatusAccepted || gotID != passkeyID || pk.State != passkeyd.PasskeyRevoking {
		t.Errorf("revoke: status %d, service got %q, answer %+v", w.Code, gotID, pk)
	}

	// The AAGUID is matched in lower case, as the manager stores it.
	const upper = "EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4"
	w = do(t, s, req{method: "POST", path: "/api/v1/passkeys:revoke", token: admin, body: `{"device_id":"` + deviceID + `","aaguid":"` + upper + `"}`})
	var bulk passkeyd.BulkRevocation
	decode(t, w, &bulk)
	want := passkeyd.PasskeyFilter{DeviceID: deviceID, AAGUID: strings.ToLower(upper)}
	if w.Code != http.StatusAccepted || gotFilter != want || bulk != (passkeyd.BulkRevocation{Matched: 4, Queued: 3}) {
		t.Errorf("bulk: status %d, filter %+v (want %+v), answer %+v", w.Code, gotFilter, want, bulk)
	}
}

// TestBulkRevokeFieldErrorsAreOrdered checks that several bad filters are
// all reported, in the body's documented order, every time.
func TestBulkRevokeFieldErrorsAreOrdered(t *testing.T) {
	s, _ := newServer(t, newFake(), nil)
	for range 10 {
		w := do(t, s, req{method: "POST", path: "/api/v1/passkeys:revoke", token: roleTokens()[passkeyd.RoleOperator],
			body: `{"user_id":"u","device_id":"d","aaguid":"a"}`})
		p := problemOf(t, w)
		var fields []string
		for _, f := range p.Errors {
			fields = append(fields, f.Field)
		}
		if got := strings.Join(fields, ","); got != "user_id,device_id,aaguid" {
			t.Fatalf("fields %s, want user_id,device_id,aaguid", got)
		}
	}
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name, body string
		wantUser   string
	}{
		{"one user", `{"user_id":"` + userID + `"}`, userID},
		{"every user, empty object", `{}`, ""},
		{"every user, no body", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newFake()
			got := "unset"
			svc.ReconcileFn = func(_ context.Context, uid string) (*passkeyd.DriftReport, error) {
				got = uid
				return &passkeyd.DriftReport{StartedAt: testNow, FinishedAt: testNow, Users: 1}, nil
			}
			s, _ := newServer(t, svc, nil)
			w := do(t, s, req{method: "POST", path: "/api/v1/reconcile", token: roleTokens()[passkeyd.RoleOperator], body: tt.body})
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if got != tt.wantUser {
				t.Errorf("service got user %q, want %q", got, tt.wantUser)
			}
			// The service's nil slices are answered as [], never null;
			// errors is omitted when there are none.
			var raw map[string]json.RawMessage
			decode(t, w, &raw)
			for _, k := range []string{"missing", "adopted", "unmanaged"} {
				if string(raw[k]) != "[]" {
					t.Errorf("%s = %s, want []", k, raw[k])
				}
			}
			if _, ok := raw["errors"]; ok {
				t.Errorf("errors present: %s", raw["errors"])
			}
		})
	}
}
