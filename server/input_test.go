package server

import (
	"net/http"
	"strings"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

// TestBadInput checks that each kind of bad request is answered with a
// precise problem and never reaches the service.
func TestBadInput(t *testing.T) {
	admin := roleTokens()[passkeyd.RoleAdmin]
	big := `{"upn":"` + strings.Repeat("a", 70<<10) + `"}`
	tests := []struct {
		name       string
		rq         req
		status     int
		code       passkeyd.ErrorCode
		detail     string // substring of detail
		field      string // a field named in errors[]
		wantHeader [2]string
	}{
		{name: "malformed JSON", rq: req{method: "POST", path: "/api/v1/users", token: admin, body: `{"upn": "a@b.c",}`},
			status: 400, code: passkeyd.EInvalid, detail: "invalid JSON at offset 16"},
		{name: "truncated JSON", rq: req{method: "POST", path: "/api/v1/users", token: admin, body: `{"upn": "a@b`},
			status: 400, code: passkeyd.EInvalid, detail: "unexpected end of input"},
		{name: "unknown field", rq: req{method: "POST", path: "/api/v1/users", token: admin, body: `{"upn":"a@contoso.com","admin":true}`},
			status: 400, code: passkeyd.EInvalid, detail: `unknown field "admin"`, field: "admin"},
		{name: "wrong type", rq: req{method: "PUT", path: "/api/v1/policies/default", token: admin, body: `{"name":"x","entra_passkey":"off","max_passkeys_per_user":"two"}`},
			status: 400, code: passkeyd.EInvalid, detail: "wrong type for max_passkeys_per_user", field: "max_passkeys_per_user"},
		{name: "trailing data", rq: req{method: "POST", path: "/api/v1/users", token: admin, body: `{"upn":"a@contoso.com"} {"upn":"b@contoso.com"}`},
			status: 400, code: passkeyd.EInvalid, detail: "unexpected data after the JSON value"},
		{name: "trailing garbage", rq: req{method: "POST", path: "/api/v1/tokens", token: admin, body: `{"name":"ci","role":"admin"}x`},
			status: 400, code: passkeyd.EInvalid, detail: "after the JSON value"},
		{name: "duplicate key", rq: req{method: "POST", path: "/api/v1/tokens", token: admin, body: `{"name":"a","name":"b","role":"viewer"}`},
			status: 400, code: passkeyd.EInvalid, detail: `duplicate key "name"`, field: "name"},
		{name: "duplicate key differing in case", rq: req{method: "POST", path: "/api/v1/tokens", token: admin, body: `{"name":"ci","role":"viewer","ROLE":"admin"}`},
			status: 400, code: passkeyd.EInvalid, detail: `duplicate key "ROLE" (the same as "role"`, field: "ROLE"},
		{name: "nested duplicate key", rq: req{method: "POST", path: "/api/v1/device/passkeys", token: deviceToken,
			body: `{"enrollment_id":"` + enrollID + `","credential":{"id":"AAAA","id":"BBBB","client_data_json":"e30","attestation_object":"o2M"}}`},
			status: 400, code: passkeyd.EInvalid, detail: `duplicate key "id" in "credential"`, field: "credential.id"},
		{name: "duplicate key in a raw object", rq: req{method: "POST", path: "/api/v1/device/passkeys", token: deviceToken,
			body: `{"enrollment_id":"` + enrollID + `","credential":{"id":"AAAA","client_data_json":"e30","attestation_object":"o2M","client_extension_results":{"credProps":{"rk":false,"rk":true}}}}`},
			status: 400, code: passkeyd.EInvalid, detail: `duplicate key "rk"`, field: "credential.client_extension_results.credProps.rk"},
		{name: "duplicate key after a huge number", rq: req{method: "POST", path: "/api/v1/device/passkeys", token: deviceToken,
			body: `{"enrollment_id":"` + enrollID + `","credential":{"id":"AAAA","client_data_json":"e30","attestation_object":"o2M","client_extension_results":{"x":1e999,"y":[{"a":1,"a":2}]}}}`},
			status: 400, code: passkeyd.EInvalid, detail: `duplicate key "a" in "credential.client_extension_results.y[0]"`},
		{name: "nesting too deep", rq: req{method: "POST", path: "/api/v1/device/passkeys", token: deviceToken,
			body: `{"enrollment_id":"` + enrollID + `","credential":{"id":"AAAA","client_data_json":"e30","attestation_object":"o2M","client_extension_results":{"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}}`},
			status: 400, code: passkeyd.EInvalid, detail: "nesting too deep (more than 32 levels)"},
		{name: "malformed JSON before a duplicate key", rq: req{method: "POST", path: "/api/v1/users", token: admin, body: `{"upn":"a@b.c" "upn":"x"}`},
			status: 400, code: passkeyd.EInvalid, detail: "invalid JSON at offset 15"},
		{name: "empty body", rq: req{method: "POST", path: "/api/v1/users", token: admin, contentType: "application/json"},
			status: 400, code: passkeyd.EInvalid, detail: "body is empty"},
		{name: "whitespace body", rq: req{method: "PUT", path: "/api/v1/connectors/default", token: admin, body: "  \n"},
			status: 400, code: passkeyd.EInvalid, detail: "body is empty"},
		{name: "body over the limit", rq: req{method: "POST", path: "/api/v1/users", token: admin, body: big},
			status: 413, code: passkeyd.ETooLarge, detail: "exceeds 65536 bytes"},
		{name: "device body over the limit", rq: req{method: "POST", path: "/api/v1/device/register", body: big},
			status: 413, code: passkeyd.ETooLarge},
		{name: "wrong content type", rq: req{method: "POST", path: "/api/v1/users", token: admin, body: `{"upn":"a@contoso.com"}`, contentType: "text/plain"},
			status: 415, code: passkeyd.EUnsupportedMedia, detail: "application/json"},
		{name: "form content type", rq: req{method: "POST", path: "/api/v1/device/register", body: `code=x`, contentType: "application/x-www-form-urlencoded"},
			status: 415, code: passkeyd.EUnsupportedMedia},
		{name: "missing content type", rq: req{method: "POST", path: "/api/v1/tokens", token: admin, body: `{}`, contentType: " "},
			status: 415, code: passkeyd.EUnsupportedMedia},
		{name: "bad charset", rq: req{method: "POST", path: "/api/v1/users", token: admin, body: `{"upn":"a@contoso.com"}`, contentType: "application/json; charset=latin1"},
			status: 415, code: passkeyd.EUnsupportedMedia},
		{name: "missing Authorization", rq: req{method: "GET", path: "/api/v1/users"},
			status: 401, code: passkeyd.EUnauthorized, detail: "missing", wantHeader: [2]string{"WWW-Authenticate", `Bearer realm="passkeyd"`}},
		{name: "Basic scheme", rq: req{method: "GET", path: "/api/v1/users", header: http.Header{"Authorization": {"Basic YTpi"}}},
			status: 401, code: passkeyd.EUnauthorized, detail: "Bearer scheme"},
		{name: "malformed bearer", rq: req{method: "GET", path: "/api/v1/users", header: http.Header{"Authorization": {"Bearer a b"}}},
			status: 401, code: passkeyd.EUnauthorized, detail: "malformed", wantHeader: [2]string{"WWW-Authenticate", `Bearer realm="passkeyd", error="invalid_request"`}},
		{name: "empty bearer", rq: req{method: "GET", path: "/api/v1/device/status", header: http.Header{"Authorization": {"Bearer "}}},
			status: 401, code: passkeyd.EUnauthorized},
		{name: "two Authorization headers", rq: req{method: "GET", path: "/api/v1/users", header: http.Header{"Authorization": {"Bearer " + admin, "Bearer " + admin}}},
			status: 401, code: passkeyd.EUnauthorized, detail: "more than one"},
		{name: "overlong bearer", rq: req{method: "GET", path: "/api/v1/users", token: strings.Repeat("a", 513)},
			status: 401, code: passkeyd.EUnauthorized, detail: "malformed"},
		{name: "limit zero", rq: req{method: "GET", path: "/api/v1/devices?limit=0", token: admin},
			status: 400, code: passkeyd.EInvalid, field: "limit"},
		{name: "limit too big", rq: req{method: "GET", path: "/api/v1/passkeys?limit=1001", token: admin},
			status: 400, code: passkeyd.EInvalid, field: "limit"},
		{name: "limit not a number", rq: req{method: "GET", path: "/api/v1/users?limit=ten", token: admin},
			status: 400, code: passkeyd.EInvalid, field: "limit"},
		{name: "cursor too long", rq: req{method: "GET", path: "/api/v1/users?cursor=" + strings.Repeat("c", 201), token: admin},
			status: 400, code: passkeyd.EInvalid, field: "cursor"},
		{name: "unknown query parameter", rq: req{method: "GET", path: "/api/v1/devices?usr_id=" + userID, token: admin},
			status: 400, code: passkeyd.EInvalid, field: "usr_id"},
		{name: "repeated query parameter", rq: req{method: "GET", path: "/api/v1/devices?state=active&state=removed", token: admin},
			status: 400, code: passkeyd.EInvalid, field: "state"},
		{name: "bad state filter", rq: req{method: "GET", path: "/api/v1/passkeys?state=alive", token: admin},
			status: 400, code: passkeyd.EInvalid, field: "state"},
		{name: "bad user_id filter", rq: req{method: "GET", path: "/api/v1/passkeys?user_id=alice", token: admin},
			status: 400, code: passkeyd.EInvalid, field: "user_id"},
		{name: "negative after_seq", rq: req{method: "GET", path: "/api/v1/audit?after_seq=-1", token: admin},
			status: 400, code: passkeyd.EInvalid, field: "after_seq"},
		{name: "malformed query", rq: req{method: "GET", path: "/api/v1/users?query=%zz", token: admin},
			status: 400, code: passkeyd.EInvalid, detail: "query string is malformed"},
		{name: "implausible user id", rq: req{method: "GET", path: "/api/v1/users/alice", token: admin},
			status: 400, code: passkeyd.EInvalid, field: "id"},
		{name: "implausible device id", rq: req{method: "DELETE", path: "/api/v1/devices/1234", token: admin},
			status: 400, code: passkeyd.EInvalid, field: "id"},
		{name: "implausible policy id", rq: req{method: "GET", path: "/api/v1/policies/strict", token: admin},
			status: 400, code: passkeyd.EInvalid, field: "id"},
		{name: "unknown connector", rq: req{method: "GET", path: "/api/v1/connectors/" + userID, token: admin},
			status: 404, code: passkeyd.ENotFound, detail: "only connector"},
		{name: "invitation ttl too long", rq: req{method: "POST", path: "/api/v1/users/" + userID + "/invitations", token: admin, body: `{"ttl_seconds":2592001}`},
			status: 400, code: passkeyd.EInvalid, field: "ttl_seconds"},
		{name: "invitation qr flag", rq: req{method: "POST", path: "/api/v1/users/" + userID + "/invitations?qr=yes", token: admin},
			status: 400, code: passkeyd.EInvalid, field: "qr"},
		{name: "token bad role", rq: req{method: "POST", path: "/api/v1/tokens", token: admin, body: `{"name":"ci","role":"root"}`},
			status: 400, code: passkeyd.EInvalid, field: "role"},
		{name: "policy bad mode", rq: req{method: "PUT", path: "/api/v1/policies/default", token: admin, body: `{"name":"x","entra_passkey":"always"}`},
			status: 400, code: passkeyd.EInvalid, field: "entra_passkey"},
		{name: "user bad upn", rq: req{method: "POST", path: "/api/v1/users", token: admin, body: `{"upn":"alice"}`},
			status: 400, code: passkeyd.EInvalid, field: "upn"},
		{name: "register without code", rq: req{method: "POST", path: "/api/v1/device/register", body: `{"name":"phone"}`},
			status: 400, code: passkeyd.EInvalid, field: "code"},
		{name: "register control chars", rq: req{method: "POST", path: "/api/v1/device/register", body: `{"code":"ABCD","name":"ph\u202eone"}`},
			status: 400, code: passkeyd.EInvalid, field: "name"},
		{name: "credential not base64url", rq: req{method: "POST", path: "/api/v1/device/passkeys", token: deviceToken,
			body: `{"enrollment_id":"` + enrollID + `","credential":{"id":"a+b/","client_data_json":"e30","attestation_object":"o2M"}}`},
			status: 400, code: passkeyd.EInvalid, field: "credential.id"},
		{name: "credential bad enrollment", rq: req{method: "POST", path: "/api/v1/device/passkeys", token: deviceToken,
			body: `{"enrollment_id":"x","credential":{"id":"AAAA","client_data_json":"e30","attestation_object":"o2M"}}`},
			status: 400, code: passkeyd.EInvalid, field: "enrollment_id"},
		{name: "credential extensions not object", rq: req{method: "POST", path: "/api/v1/device/passkeys", token: deviceToken,
			body: `{"enrollment_id":"` + enrollID + `","credential":{"id":"AAAA","client_data_json":"e30","attestation_object":"o2M","client_extension_results":[1]}}`},
			status: 400, code: passkeyd.EInvalid, field: "credential.client_extension_results"},
		{name: "bulk revoke without filter", rq: req{method: "POST", path: "/api/v1/passkeys:revoke", token: admin, body: `{}`},
			status: 400, code: passkeyd.EInvalid, field: "user_id"},
		{name: "bulk revoke with empty filters", rq: req{method: "POST", path: "/api/v1/passkeys:revoke", token: admin, body: `{"user_id":"","device_id":"","aaguid":""}`},
			status: 400, code: passkeyd.EInvalid, field: "user_id"},
		{name: "bulk revoke without body", rq: req{method: "POST", path: "/api/v1/passkeys:revoke", token: admin},
			status: 400, code: passkeyd.EInvalid, detail: "body is empty"},
		{name: "bulk revoke bad aaguid", rq: req{method: "POST", path: "/api/v1/passkeys:revoke", token: admin, body: `{"aaguid":"yubikey-5"}`},
			status: 400, code: passkeyd.EInvalid, field: "aaguid"},
		{name: "bulk revoke bad device_id", rq: req{method: "POST", path: "/api/v1/passkeys:revoke", token: admin, body: `{"user_id":"` + userID + `","device_id":"phone"}`},
			status: 400, code: passkeyd.EInvalid, field: "device_id"},
		{name: "bulk revoke unknown filter", rq: req{method: "POST", path: "/api/v1/passkeys:revoke", token: admin, body: `{"state":"active"}`},
			status: 400, code: passkeyd.EInvalid, field: "state"},
		{name: "revoke implausible passkey id", rq: req{method: "POST", path: "/api/v1/passkeys/pk-1/revoke", token: admin},
			status: 400, code: passkeyd.EInvalid, field: "id"},
		{name: "reconcile bad user_id", rq: req{method: "POST", path: "/api/v1/reconcile", token: admin, body: `{"user_id":"alice@contoso.com"}`},
			status: 400, code: passkeyd.EInvalid, field: "user_id"},
		{name: "reconcile unknown field", rq: req{method: "POST", path: "/api/v1/reconcile", token: admin, body: `{"upn":"alice@contoso.com"}`},
			status: 400, code: passkeyd.EInvalid, field: "upn"},
		{name: "unknown route", rq: req{method: "GET", path: "/api/v1/nope", token: admin},
			status: 404, code: passkeyd.ENotFound, detail: "no such route"},
		{name: "unknown route outside the API", rq: req{method: "GET", path: "/wp-admin"},
			status: 404, code: passkeyd.ENotFound},
		{name: "wrong method", rq: req{method: "PATCH", path: "/api/v1/users/" + userID, token: admin},
			status: 405, code: passkeyd.EInvalid, detail: "PATCH", wantHeader: [2]string{"Allow", "GET, HEAD, PUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newFake()
			s, _ := newServer(t, svc, nil)
			w := do(t, s, tt.rq)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			p := problemOf(t, w)
			if p.Code != tt.code {
				t.Errorf("code %q, want %q", p.Code, tt.code)
			}
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", p.Detail, tt.detail)
			}
			if tt.field != "" && !hasField(p.Errors, tt.field) {
				t.Errorf("errors %v do not name %q", p.Errors, tt.field)
			}
			if h := tt.wantHeader; h[0] != "" && w.Header().Get(h[0]) != h[1] {
				t.Errorf("%s = %q, want %q", h[0], w.Header().Get(h[0]), h[1])
			}
			if calls := callsBeyondAuth(svc); len(calls) != 0 {
				t.Errorf("bad input reached the service: %v", calls)
			}
		})
	}
}

func hasField(fe passkeyd.FieldErrors, name string) bool {
	for _, f := range fe {
		if f.Field == name {
			return true
		}
	}
	return false
}

func TestCredentialBodyLimit(t *testing.T) {
	// A credential of 100 KiB exceeds the default body limit but not the
	// one of passkey registration; one of 600 KiB exceeds both.
	cred := func(n int) string {
		return `{"enrollment_id":"` + enrollID + `","credential":{"id":"AAAA","client_data_json":"e30","attestation_object":"` + strings.Repeat("A", n) + `"}}`
	}
	tests := []struct {
		size   int
		status int
	}{
		{100 << 10, http.StatusCreated},
		{600 << 10, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		s, _ := newServer(t, newFake(), nil)
		w := do(t, s, req{method: "POST", path: "/api/v1/device/passkeys", token: deviceToken, body: cred(tt.size)})
		if w.Code != tt.status {
			t.Errorf("size %d: status %d, want %d: %.200s", tt.size, w.Code, tt.status, w.Body)
		}
	}
}

func TestUnknownFieldNameIsSanitized(t *testing.T) {
	s, _ := newServer(t, newFake(), nil)
	w := do(t, s, req{method: "POST", path: "/api/v1/users", token: roleTokens()[passkeyd.RoleAdmin], body: `{"ev\u202eil":1}`})
	p := problemOf(t, w)
	if len(p.Errors) != 1 || !passkeyd.Printable(p.Errors[0].Field) || !passkeyd.Printable(p.Detail) {
		t.Errorf("problem echoes unsafe text: %+v", p)
	}
}
