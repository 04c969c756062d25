package entraemu

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestGraphAuthorization(t *testing.T) {
	v := newEnv(t, nil)
	good := v.token(t)

	// A second tenant with its own consented app and user.
	other, err := v.e.AddTenant(Tenant{Domain: "fabrikam.onmicrosoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := v.e.AddApp(other.ID, App{Roles: []string{RoleAuthMethodReadWriteAll}})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := v.e.AddClientSecret(other.ID, app.ClientID, v.clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.e.AddUser(other.ID, User{UPN: "dave@fabrikam.onmicrosoft.com"}); err != nil {
		t.Fatal(err)
	}
	st, body := v.tokenReq(t, other.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {sec.Value.Reveal()}, "scope": {v.srv.URL + "/.default"}})
	if st != 200 {
		t.Fatalf("other tenant token: %d %v", st, body)
	}
	otherTok := body["access_token"].(string)

	noRoles, err := v.e.AddApp(v.set.TenantID, App{})
	if err != nil {
		t.Fatal(err)
	}
	sec2, _ := v.e.AddClientSecret(v.set.TenantID, noRoles.ClientID, v.clock.Now().Add(time.Hour))
	_, body = v.tokenReq(t, v.set.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {noRoles.ClientID}, "client_secret": {sec2.Value.Reveal()}, "scope": {v.srv.URL + "/.default"}})
	noRolesTok := body["access_token"].(string)

	badSig := good[:len(good)-4] + flip4(good[len(good)-4:])
	alice := "/v1.0/users/" + url.PathEscape("alice@contoso.onmicrosoft.com") + "/authentication/fido2Methods"
	tests := []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"good by UPN", alice, good, 200, ""},
		{"good beta", strings.Replace(alice, "v1.0", "beta", 1), good, 200, ""},
		{"no token", alice, "", 401, "InvalidAuthenticationToken"},
		{"garbage token", alice, "abc.def.ghi", 401, "InvalidAuthenticationToken"},
		{"bad signature", alice, badSig, 401, "InvalidAuthenticationToken"},
		{"no roles", alice, noRolesTok, 403, "accessDenied"},
		{"other tenant's token", alice, otherTok, 404, "Request_ResourceNotFound"},
		{"other tenant's own user", "/v1.0/users/dave%40fabrikam.onmicrosoft.com/authentication/fido2Methods", otherTok, 200, ""},
		{"unknown user", "/v1.0/users/zed%40contoso.onmicrosoft.com/authentication/fido2Methods", good, 404, "Request_ResourceNotFound"},
		{"unknown resource", "/v1.0/users/x/manager", good, 400, "BadRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, body, h := v.graph(t, "GET", tc.path, tc.token, nil)
			if st != tc.status {
				t.Fatalf("status = %d, want %d (%v)", st, tc.status, body)
			}
			if h.Get("request-id") == "" || h.Get("client-request-id") != "11111111-2222-3333-4444-555555555555" {
				t.Errorf("headers request-id=%q client-request-id=%q", h.Get("request-id"), h.Get("client-request-id"))
			}
			if tc.code == "" {
				return
			}
			if graphCode(body) != tc.code {
				t.Errorf("code = %q, want %q", graphCode(body), tc.code)
			}
			inner, _ := body["error"].(map[string]any)["innerError"].(map[string]any)
			if inner["request-id"] != h.Get("request-id") || inner["client-request-id"] != "11111111-2222-3333-4444-555555555555" || inner["date"] == nil {
				t.Errorf("innerError = %v", inner)
			}
		})
	}

	t.Run("expired token", func(t *testing.T) {
		v.clock.Advance(3600 * time.Second)
		st, body, _ := v.graph(t, "GET", alice, good, nil)
		if st != 401 || graphCode(body) != "InvalidAuthenticationToken" {
			t.Fatalf("status %d %v", st, body)
		}
	})
}

// flip4 changes a base64url tail so the signature no longer verifies.
func flip4(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

func TestCreationOptions(t *testing.T) {
	v := newEnv(t, func(o *Options) { o.RPID = "login.example.test" })
	tok := v.token(t)
	users := v.e.Users(v.set.TenantID)
	alice := users[0]
	base := "/users/" + url.PathEscape(alice.UPN) + "/authentication/fido2Methods/"
	tests := []struct {
		name, path string
		status     int
		code       string
		minutes    int
	}{
		{"v1.0", "/v1.0" + base + "creationOptions", 200, "", 5},
		{"v1.0 by object ID", "/v1.0/users/" + alice.ID + "/authentication/fido2Methods/creationOptions", 200, "", 5},
		{"beta default", "/beta" + base + "creationOptions", 200, "", 5},
		{"beta 10", "/beta" + base + "creationOptions(challengeTimeoutInMinutes=10)", 200, "", 10},
		{"beta max", "/beta" + base + "creationOptions(challengeTimeoutInMinutes=43200)", 200, "", 43200},
		{"beta below min", "/beta" + base + "creationOptions(challengeTimeoutInMinutes=4)", 400, "invalidRequest", 0},
		{"beta above max", "/beta" + base + "creationOptions(challengeTimeoutInMinutes=43201)", 400, "invalidRequest", 0},
		{"beta not a number", "/beta" + base + "creationOptions(challengeTimeoutInMinutes=ten)", 400, "invalidRequest", 0},
		{"query form", "/beta" + base + "creationOptions?challengeTimeoutInMinutes=10", 405, "methodNotAllowed", 0},
		{"v1.0 inline form", "/v1.0" + base + "creationOptions(challengeTimeoutInMinutes=10)", 400, "BadRequest", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, body, _ := v.graph(t, "GET", tc.path, tok, nil)
			if st != tc.status {
				t.Fatalf("status = %d, want %d (%v)", st, tc.status, body)
			}
			if tc.code != "" {
				if graphCode(body) != tc.code {
					t.Errorf("code = %q, want %q", graphCode(body), tc.code)
				}
				return
			}
			exp, err := time.Parse(time.RFC3339, body["challengeTimeoutDateTime"].(string))
			if err != nil || !exp.Equal(v.clock.Now().Add(time.Duration(tc.minutes)*time.Minute)) {
				t.Errorf("challengeTimeoutDateTime = %v (%v)", body["challengeTimeoutDateTime"], err)
			}
			pk := body["publicKey"].(map[string]any)
			if rp := pk["rp"].(map[string]any); rp["id"] != "login.example.test" {
				t.Errorf("rp = %v", rp)
			}
			u := pk["user"].(map[string]any)
			if u["name"] != alice.UPN || u["displayName"] != alice.DisplayName || u["id"] != b64(alice.Handle) {
				t.Errorf("user = %v", u)
			}
			if ch, _ := pk["challenge"].(string); len(ch) < 4000 {
				t.Errorf("challenge has %d chars, want a large one", len(ch))
			}
			sel := pk["authenticatorSelection"].(map[string]any)
			if sel["requireResidentKey"] != true || sel["userVerification"] != "required" {
				t.Errorf("authenticatorSelection = %v", sel)
			}
			params := pk["pubKeyCredParams"].([]any)
			if len(params) != 2 || params[0].(map[string]any)["alg"] != float64(-7) || params[1].(map[string]any)["alg"] != float64(-257) {
				t.Errorf("pubKeyCredParams = %v", params)
			}
			ext := pk["extensions"].(map[string]any)
			if ext["hmacCreateSecret"] != true || ext["credentialProtectionPolicy"] != "userVerificationOptional" || pk["attestation"] != "direct" || pk["timeout"] != float64(60000) {
				t.Errorf("extensions/attestation/timeout = %v %v %v", ext, pk["attestation"], pk["timeout"])
			}
			if ex, ok := pk["excludeCredentials"].([]any); !ok || len(ex) != 0 {
				t.Errorf("excludeCredentials = %v", pk["excludeCredentials"])
			}
		})
	}
	t.Run("POST not allowed", func(t *testing.T) {
		st, body, _ := v.graph(t, "POST", "/v1.0"+base+"creationOptions", tok, map[string]any{})
		if st != http.StatusMethodNotAllowed || graphCode(body) != "methodNotAllowed" {
			t.Fatalf("%d %v", st, body)
		}
	})
}
