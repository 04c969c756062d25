package entraemu

import (
	"crypto/rsa"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTokenEndpoint(t *testing.T) {
	v := newEnv(t, nil)
	expired, err := v.e.AddClientSecret(v.set.TenantID, v.set.ClientID, v.clock.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	own := v.srv.URL + "/.default"
	msal := own + " openid offline_access profile"
	tests := []struct {
		name   string
		tenant string
		form   url.Values
		status int
		code   int // AADSTS; 0 for success
		oauth  string
	}{
		{"good secret", v.set.TenantID, v.form(v.secret, msal), 200, 0, ""},
		{"tenant by domain", v.set.Domain, v.form(v.secret, own), 200, 0, ""},
		{"global graph scope", v.set.TenantID, v.form(v.secret, GraphGlobalResource+"/.default"), 200, 0, ""},
		{"wrong secret", v.set.TenantID, v.form("nope", own), 401, 7000215, "invalid_client"},
		{"expired secret", v.set.TenantID, v.form(expired.Value.Reveal(), own), 401, 7000222, "invalid_client"},
		{"no credential", v.set.TenantID, v.form("", own), 401, 7000218, "invalid_client"},
		{"unknown app", v.set.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {"00000000-0000-0000-0000-000000000001"}, "client_secret": {"x"}, "scope": {own}}, 400, 700016, "unauthorized_client"},
		{"unknown tenant", "00000000-0000-0000-0000-0000000000aa", v.form(v.secret, own), 400, 90002, "invalid_request"},
		{"unknown domain", "fabrikam.onmicrosoft.com", v.form(v.secret, own), 400, 90002, "invalid_request"},
		{"malformed tenant", "not_a_tenant", v.form(v.secret, own), 400, 900023, "invalid_request"},
		{"other resource", v.set.TenantID, v.form(v.secret, "https://management.azure.com/.default"), 400, 70011, "invalid_scope"},
		{"no .default", v.set.TenantID, v.form(v.secret, v.srv.URL+"/User.Read"), 400, 70011, "invalid_scope"},
		{"two resources", v.set.TenantID, v.form(v.secret, own+" "+GraphGlobalResource+"/.default"), 400, 70011, "invalid_scope"},
		{"no scope", v.set.TenantID, v.form(v.secret, ""), 400, 70011, "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, body := v.tokenReq(t, tc.tenant, tc.form)
			if st != tc.status {
				t.Fatalf("status = %d, want %d (%v)", st, tc.status, body)
			}
			if tc.code == 0 {
				if body["token_type"] != "Bearer" || body["expires_in"] != float64(3599) || body["ext_expires_in"] != float64(3599) || body["access_token"] == "" {
					t.Fatalf("token body = %v", body)
				}
				return
			}
			if body["error"] != tc.oauth {
				t.Errorf("error = %v, want %s", body["error"], tc.oauth)
			}
			codes, _ := body["error_codes"].([]any)
			if len(codes) != 1 || codes[0] != float64(tc.code) {
				t.Errorf("error_codes = %v, want [%d]", body["error_codes"], tc.code)
			}
			desc, _ := body["error_description"].(string)
			if !strings.HasPrefix(desc, "AADSTS"+itoa(tc.code)+": ") {
				t.Errorf("error_description = %q", desc)
			}
			if strings.Contains(desc, v.secret) {
				t.Error("description leaks the secret")
			}
			for _, k := range []string{"timestamp", "trace_id", "correlation_id"} {
				if s, _ := body[k].(string); s == "" {
					t.Errorf("%s missing", k)
				}
			}
		})
	}
	if got := v.e.Stats(); got.TokenRequests != len(tests) || got.TokensIssued != 3 {
		t.Errorf("stats = %+v, want %d requests, 3 issued", got, len(tests))
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func TestDiscoveryAndTokenClaims(t *testing.T) {
	v := newEnv(t, nil)
	for _, tenant := range []string{v.set.TenantID, v.set.Domain} {
		resp, err := http.Get(v.srv.URL + "/" + tenant + "/v2.0/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		st, doc := decodeResp(t, resp)
		if st != 200 {
			t.Fatalf("discovery %s: %d", tenant, st)
		}
		want := map[string]string{
			"issuer":                 v.srv.URL + "/" + v.set.TenantID + "/v2.0",
			"token_endpoint":         v.srv.URL + "/" + v.set.TenantID + "/oauth2/v2.0/token",
			"authorization_endpoint": v.srv.URL + "/" + v.set.TenantID + "/oauth2/v2.0/authorize",
			"jwks_uri":               v.srv.URL + "/" + v.set.TenantID + "/discovery/v2.0/keys",
		}
		for k, w := range want {
			if doc[k] != w {
				t.Errorf("%s = %v, want %s", k, doc[k], w)
			}
		}
	}
	resp, err := http.Get(v.srv.URL + "/" + v.set.TenantID + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	_, jwks := decodeResp(t, resp)
	k := jwks["keys"].([]any)[0].(map[string]any)
	n, _ := base64.RawURLEncoding.DecodeString(k["n"].(string))
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}

	tok := v.token(t)
	jwt, err := parseJWT(tok)
	if err != nil {
		t.Fatal(err)
	}
	if jwt.hstr("kid") != k["kid"] || jwt.hstr("alg") != "RS256" {
		t.Errorf("header = %v, jwk kid %v", jwt.Header, k["kid"])
	}
	if err := jwt.verifyRSA("RS256", pub); err != nil {
		t.Fatalf("token does not verify with the JWKS key: %v", err)
	}
	iat, _ := jwt.unix("iat")
	exp, _ := jwt.unix("exp")
	if exp.Sub(iat) != 3599*time.Second || !iat.Equal(v.clock.Now().Truncate(time.Second)) {
		t.Errorf("iat %v exp %v", iat, exp)
	}
	want := map[string]string{"aud": v.srv.URL, "iss": "https://sts.windows.net/" + v.set.TenantID + "/", "tid": v.set.TenantID, "appid": v.set.ClientID}
	for c, w := range want {
		if jwt.str(c) != w {
			t.Errorf("%s = %q, want %q", c, jwt.str(c), w)
		}
	}
	if roles, _ := jwt.Claims["roles"].([]any); len(roles) != 1 || roles[0] != RolePasskeyReadWriteAll {
		t.Errorf("roles = %v", jwt.Claims["roles"])
	}
	if jwt.str("oid") == "" {
		t.Error("oid missing")
	}

	// No consent: the token is issued without a roles claim at all.
	if err := v.e.SetAppRoles(v.set.TenantID, v.set.ClientID, nil); err != nil {
		t.Fatal(err)
	}
	jwt, _ = parseJWT(v.token(t))
	if _, ok := jwt.Claims["roles"]; ok {
		t.Errorf("roles present without consent: %v", jwt.Claims["roles"])
	}
}
