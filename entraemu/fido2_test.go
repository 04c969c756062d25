package entraemu

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const aliceUPN = "alice@contoso.onmicrosoft.com"

func methodsPath(user string) string {
	return "/v1.0/users/" + url.PathEscape(user) + "/authentication/fido2Methods"
}

func TestCreateGetListDeleteAndSignIn(t *testing.T) {
	v := newEnv(t, nil)
	tok := v.token(t)
	a := newAuthenticator(t, 1)

	st, m, _ := v.graph(t, "POST", methodsPath(aliceUPN), tok, a.create(t, v.options(t, tok, aliceUPN), "Alice's key", makeOpts{}))
	if st != http.StatusCreated {
		t.Fatalf("create: %d %v", st, m)
	}
	wantID := methodID(a.credID)
	if m["id"] != wantID || !strings.HasSuffix(wantID, "1") {
		t.Errorf("id = %v, want %s (base64url + padding digit)", m["id"], wantID)
	}
	if m["displayName"] != "Alice's key" || m["aaGuid"] != "ee882879-721c-4913-9775-3dfcce97072a" ||
		m["attestationLevel"] != "notAttested" || m["passkeyType"] != "deviceBound" || m["model"] != nil {
		t.Errorf("method = %v", m)
	}
	if certs, ok := m["attestationCertificates"].([]any); !ok || len(certs) != 0 {
		t.Errorf("attestationCertificates = %v", m["attestationCertificates"])
	}
	if m["createdDateTime"] != v.clock.Now().Format(time.RFC3339) {
		t.Errorf("createdDateTime = %v", m["createdDateTime"])
	}
	stored := v.e.Methods(v.set.TenantID, aliceUPN)
	if len(stored) != 1 || stored[0].ID != wantID {
		t.Fatalf("Methods = %+v", stored)
	}

	// The new credential is excluded from the next options.
	ex := v.options(t, tok, aliceUPN)["excludeCredentials"].([]any)
	if len(ex) != 1 || ex[0].(map[string]any)["id"] != b64(a.credID) {
		t.Errorf("excludeCredentials = %v", ex)
	}
	st, got, _ := v.graph(t, "GET", methodsPath(aliceUPN)+"/"+wantID, tok, nil)
	if st != 200 || got["id"] != wantID {
		t.Errorf("get: %d %v", st, got)
	}

	// Sign in with the passkey; the counter must increase.
	alice := v.e.Users(v.set.TenantID)[0]
	begin := func() string {
		t.Helper()
		st, b := v.postJSON(t, "/"+v.set.Domain+"/passkey/signin/begin", map[string]string{"user": aliceUPN})
		if st != 200 || b["rpId"] != DefaultRPID {
			t.Fatalf("begin: %d %v", st, b)
		}
		if allow := b["allowCredentials"].([]any); len(allow) != 1 || allow[0].(map[string]any)["id"] != b64(a.credID) {
			t.Fatalf("allowCredentials = %v", allow)
		}
		return b["challenge"].(string)
	}
	ch := begin()
	body := a.assert(t, DefaultRPID, ch, 1, alice.Handle)
	st, res := v.postJSON(t, "/"+v.set.TenantID+"/passkey/signin/finish", body)
	if st != 200 || res["user_id"] != alice.ID || res["upn"] != aliceUPN || res["method_id"] != wantID || res["sign_count"] != float64(1) {
		t.Fatalf("finish: %d %v", st, res)
	}
	if st, res = v.postJSON(t, "/"+v.set.TenantID+"/passkey/signin/finish", body); st != 401 {
		t.Errorf("replayed assertion: %d %v", st, res)
	}
	if st, res = v.postJSON(t, "/"+v.set.TenantID+"/passkey/signin/finish", a.assert(t, DefaultRPID, begin(), 1, alice.Handle)); st != 401 || !strings.Contains(res["error_description"].(string), "counter") {
		t.Errorf("same counter: %d %v", st, res)
	}
	if st, res = v.postJSON(t, "/"+v.set.TenantID+"/passkey/signin/finish", a.assert(t, "evil.example", begin(), 5, alice.Handle)); st != 401 {
		t.Errorf("wrong rp: %d %v", st, res)
	}
	other := newAuthenticator(t, 2)
	other.credID = a.credID // same ID, other key: the signature must fail
	if st, res = v.postJSON(t, "/"+v.set.TenantID+"/passkey/signin/finish", other.assert(t, DefaultRPID, begin(), 6, alice.Handle)); st != 401 {
		t.Errorf("wrong key: %d %v", st, res)
	}
	ch = begin()
	v.clock.Advance(6 * time.Minute)
	if st, res = v.postJSON(t, "/"+v.set.TenantID+"/passkey/signin/finish", a.assert(t, DefaultRPID, ch, 7, alice.Handle)); st != 401 {
		t.Errorf("expired challenge: %d %v", st, res)
	}
	if st, res = v.postJSON(t, "/"+v.set.TenantID+"/passkey/signin/finish", a.assert(t, DefaultRPID, begin(), 8, alice.Handle)); st != 200 || res["sign_count"] != float64(8) {
		t.Errorf("next sign-in: %d %v", st, res)
	}

	// Delete, then 404 on repeat and on get.
	if st, body, _ := v.graph(t, "DELETE", methodsPath(aliceUPN)+"/"+wantID, tok, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d %v", st, body)
	}
	for _, method := range []string{"DELETE", "GET"} {
		if st, body, _ := v.graph(t, method, methodsPath(aliceUPN)+"/"+wantID, tok, nil); st != 404 || graphCode(body) != "itemNotFound" {
			t.Errorf("%s after delete: %d %v", method, st, body)
		}
	}
	if n := len(v.e.Methods(v.set.TenantID, aliceUPN)); n != 0 {
		t.Errorf("%d methods left", n)
	}
}

func TestCreatePackedAndSynced(t *testing.T) {
	v := newEnv(t, nil)
	tok := v.token(t)
	a := newAuthenticator(t, 3)
	st, m, _ := v.graph(t, "POST", "/beta/users/"+url.PathEscape(aliceUPN)+"/authentication/fido2Methods", tok,
		a.create(t, v.options(t, tok, aliceUPN), "packed", makeOpts{format: "packed", backup: true}))
	if st != 201 || m["passkeyType"] != "synced" || m["attestationLevel"] != "notAttested" {
		t.Fatalf("create packed self: %d %v", st, m)
	}
}

func TestCreateRejected(t *testing.T) {
	v := newEnv(t, nil)
	tok := v.token(t)
	good := newAuthenticator(t, 4)
	st, body, _ := v.graph(t, "POST", methodsPath(aliceUPN), tok, good.create(t, v.options(t, tok, aliceUPN), "first", makeOpts{}))
	if st != 201 {
		t.Fatalf("setup create: %d %v", st, body)
	}
	usedOptions := v.options(t, tok, aliceUPN)
	st, _, _ = v.graph(t, "POST", methodsPath(aliceUPN), tok, newAuthenticator(t, 5).create(t, usedOptions, "second", makeOpts{}))
	if st != 201 {
		t.Fatalf("setup second create: %d", st)
	}

	a := newAuthenticator(t, 6)
	tests := []struct {
		name string
		body func(pk map[string]any) map[string]any
	}{
		{"flipped attestation signature", func(pk map[string]any) map[string]any {
			return a.create(t, pk, "k", makeOpts{format: "packed", flipSig: true})
		}},
		{"wrong origin", func(pk map[string]any) map[string]any {
			return a.create(t, pk, "k", makeOpts{origin: "https://evil.example"})
		}},
		{"wrong type", func(pk map[string]any) map[string]any { return a.create(t, pk, "k", makeOpts{typ: "webauthn.get"}) }},
		{"unknown challenge", func(pk map[string]any) map[string]any {
			return a.create(t, pk, "k", makeOpts{challenge: b64([]byte("not issued by the emulator"))})
		}},
		{"replayed challenge", func(map[string]any) map[string]any { return a.create(t, usedOptions, "k", makeOpts{}) }},
		{"UV clear", func(pk map[string]any) map[string]any { return a.create(t, pk, "k", makeOpts{flags: 0x01 | 0x40}) }},
		{"UP clear", func(pk map[string]any) map[string]any { return a.create(t, pk, "k", makeOpts{flags: 0x04 | 0x40}) }},
		{"wrong rpIdHash", func(pk map[string]any) map[string]any { return a.create(t, pk, "k", makeOpts{rpID: "evil.example"}) }},
		{"already registered", func(pk map[string]any) map[string]any { return good.create(t, pk, "k", makeOpts{}) }},
		{"display name too long", func(pk map[string]any) map[string]any { return a.create(t, pk, strings.Repeat("x", 31), makeOpts{}) }},
		{"empty display name", func(pk map[string]any) map[string]any { return a.create(t, pk, "", makeOpts{}) }},
		{"top-level type", func(pk map[string]any) map[string]any {
			b := a.create(t, pk, "k", makeOpts{})
			b["type"] = "public-key"
			return b
		}},
		{"rawId", func(pk map[string]any) map[string]any {
			b := a.create(t, pk, "k", makeOpts{})
			b["publicKeyCredential"].(map[string]any)["rawId"] = b64(a.credID)
			return b
		}},
		{"transports", func(pk map[string]any) map[string]any {
			b := a.create(t, pk, "k", makeOpts{})
			b["publicKeyCredential"].(map[string]any)["response"].(map[string]any)["transports"] = []string{"usb"}
			return b
		}},
		{"padded base64", func(pk map[string]any) map[string]any {
			b := a.create(t, pk, "k", makeOpts{})
			b["publicKeyCredential"].(map[string]any)["id"] = base64.URLEncoding.EncodeToString(a.credID)
			return b
		}},
		{"id differs from attested credential", func(pk map[string]any) map[string]any {
			b := a.create(t, pk, "k", makeOpts{})
			b["publicKeyCredential"].(map[string]any)["id"] = b64([]byte("another-credential-id"))
			return b
		}},
		{"other user's challenge", func(map[string]any) map[string]any {
			return a.create(t, v.options(t, tok, "bob@contoso.onmicrosoft.com"), "k", makeOpts{})
		}},
	}
	wantMsg := map[string]string{
		"flipped attestation signature": "signature", "wrong origin": "origin", "wrong type": "ceremony type",
		"unknown challenge": "already used", "replayed challenge": "already used", "UV clear": "authenticator response",
		"UP clear": "authenticator response", "wrong rpIdHash": "authenticator response", "already registered": "already registered",
		"display name too long": "displayName", "empty display name": "displayName", "top-level type": `unknown field "type"`,
		"rawId": `unknown field "rawId"`, "transports": `unknown field "transports"`, "padded base64": "without padding",
		"id differs from attested credential": "does not match", "other user's challenge": "another user",
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, body, _ := v.graph(t, "POST", methodsPath(aliceUPN), tok, tc.body(v.options(t, tok, aliceUPN)))
			if st != http.StatusBadRequest || graphCode(body) != "invalidRequest" {
				t.Fatalf("status %d %v, want 400 invalidRequest", st, body)
			}
			if msg, _ := body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, wantMsg[tc.name]) {
				t.Errorf("message %q does not mention %q", msg, wantMsg[tc.name])
			}
			if n := len(v.e.Methods(v.set.TenantID, aliceUPN)); n != 2 {
				t.Fatalf("%d methods stored, want 2", n)
			}
		})
	}
	t.Run("expired challenge", func(t *testing.T) {
		pk := v.options(t, tok, aliceUPN)
		v.clock.Advance(5 * time.Minute)
		tok := v.token(t)
		st, body, _ := v.graph(t, "POST", methodsPath(aliceUPN), tok, a.create(t, pk, "k", makeOpts{}))
		if st != 400 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "expired") {
			t.Fatalf("%d %v", st, body)
		}
	})
}

func TestListPaging(t *testing.T) {
	v := newEnv(t, func(o *Options) { o.ListPageSize = 2 })
	tok := v.token(t)
	for i := range 5 {
		a := newAuthenticator(t, byte(10+i))
		if st, body, _ := v.graph(t, "POST", methodsPath(aliceUPN), tok, a.create(t, v.options(t, tok, aliceUPN), "key", makeOpts{})); st != 201 {
			t.Fatalf("create %d: %d %v", i, st, body)
		}
	}
	seen := map[string]bool{}
	pages := 0
	next := methodsPath(aliceUPN)
	for next != "" {
		st, body, _ := v.graph(t, "GET", next, tok, nil)
		if st != 200 {
			t.Fatalf("list: %d %v", st, body)
		}
		pages++
		if !strings.HasSuffix(body["@odata.context"].(string), "/authentication/fido2Methods") {
			t.Errorf("@odata.context = %v", body["@odata.context"])
		}
		for _, m := range body["value"].([]any) {
			seen[m.(map[string]any)["id"].(string)] = true
		}
		next, _ = body["@odata.nextLink"].(string)
		if pages > 5 {
			t.Fatal("nextLink loop")
		}
	}
	if pages != 3 || len(seen) != 5 {
		t.Errorf("pages = %d, methods = %d; want 3 and 5", pages, len(seen))
	}
	if st, body, _ := v.graph(t, "GET", methodsPath(aliceUPN)+"?$skiptoken=bogus", tok, nil); st != 400 {
		t.Errorf("bad skiptoken: %d %v", st, body)
	}
}
