package entraemu

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// testClock is a manual clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is an emulator behind httptest with the default seed.
type env struct {
	e      *Emulator
	srv    *httptest.Server
	clock  *testClock
	set    Settings
	secret string
}

func newEnv(t testing.TB, mod func(*Options)) *env {
	t.Helper()
	clk := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts := Options{Now: clk.Now}
	if mod != nil {
		mod(&opts)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	set := e.Settings()
	return &env{e: e, srv: srv, clock: clk, set: set, secret: set.ClientSecret}
}

// tokenReq posts a client-credentials request and decodes the answer.
func (v *env) tokenReq(t testing.TB, tenant string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(v.srv.URL+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	return decodeResp(t, resp)
}

func (v *env) form(secret, scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {v.set.ClientID},
		"client_secret": {secret}, "scope": {scope}}
}

// token returns a valid Graph access token for the default app.
func (v *env) token(t testing.TB) string {
	t.Helper()
	st, body := v.tokenReq(t, v.set.TenantID, v.form(v.secret, v.srv.URL+"/.default"))
	if st != http.StatusOK {
		t.Fatalf("token: %d %v", st, body)
	}
	return body["access_token"].(string)
}

func decodeResp(t testing.TB, resp *http.Response) (int, map[string]any) {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("decode %q: %v", raw, err)
		}
	}
	return resp.StatusCode, m
}

// graph calls the emulator's Graph with a bearer token.
func (v *env) graph(t testing.TB, method, path, token string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	u := path
	if !strings.HasPrefix(u, "http") {
		u = v.srv.URL + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("client-request-id", "11111111-2222-3333-4444-555555555555")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	st, m := decodeResp(t, resp)
	return st, m, resp.Header
}

func (v *env) postJSON(t testing.TB, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(v.srv.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return decodeResp(t, resp)
}

func graphCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// options fetches v1.0 creation options for user and returns publicKey.
func (v *env) options(t testing.TB, tok, user string) map[string]any {
	t.Helper()
	st, body, _ := v.graph(t, "GET", "/v1.0/users/"+url.PathEscape(user)+"/authentication/fido2Methods/creationOptions", tok, nil)
	if st != http.StatusOK {
		t.Fatalf("creationOptions: %d %v", st, body)
	}
	return body["publicKey"].(map[string]any)
}

// authenticator is a minimal software FIDO2 authenticator with a
// deterministic P-256 key per credential (no 31-byte coordinates).
type authenticator struct {
	aaguid  [16]byte
	key     *ecdsa.PrivateKey
	credID  []byte
	counter uint32
}

func newAuthenticator(t testing.TB, n byte) *authenticator {
	t.Helper()
	d := sha256.Sum256([]byte{'k', 'e', 'y', n})
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		t.Fatalf("test key: %v", err)
	}
	id := sha256.Sum256([]byte{'i', 'd', n})
	return &authenticator{aaguid: [16]byte{0xee, 0x88, 0x28, 0x79, 0x72, 0x1c, 0x49, 0x13, 0x97, 0x75, 0x3d, 0xfc, 0xce, 0x97, 0x07, 0x2a}, key: key, credID: id[:20]}
}

// makeOpts tweaks a registration to produce invalid variants.
type makeOpts struct {
	format    string // "none" (default) or "packed" (self attestation)
	origin    string // default https://{rp.id}
	typ       string // default webauthn.create
	challenge string // default the one in options
	rpID      string // for the rpIdHash; default options' rp.id
	flags     byte   // default UP|UV|AT
	flipSig   bool
	backup    bool
	// attKey and x5c, with format "packed", make a full attestation: the
	// statement is signed by attKey and carries x5c (DER, leaf first).
	attKey *ecdsa.PrivateKey
	x5c    [][]byte
}

func (a *authenticator) coseKey(t testing.TB) []byte {
	t.Helper()
	raw, err := a.key.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	k, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:65]})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// create answers publicKey creation options with a create request body.
func (a *authenticator) create(t testing.TB, pk map[string]any, displayName string, o makeOpts) map[string]any {
	t.Helper()
	rp := pk["rp"].(map[string]any)["id"].(string)
	if o.rpID == "" {
		o.rpID = rp
	}
	if o.origin == "" {
		o.origin = "https://" + rp
	}
	if o.typ == "" {
		o.typ = "webauthn.create"
	}
	if o.challenge == "" {
		o.challenge = pk["challenge"].(string)
	}
	if o.flags == 0 {
		o.flags = 0x01 | 0x04 | 0x40
	}
	if o.backup {
		o.flags |= 0x08
	}
	cdj, _ := json.Marshal(map[string]any{"type": o.typ, "challenge": o.challenge, "origin": o.origin, "crossOrigin": false})
	rpHash := sha256.Sum256([]byte(o.rpID))
	ad := append([]byte{}, rpHash[:]...)
	ad = append(ad, o.flags)
	ad = binary.BigEndian.AppendUint32(ad, 0)
	ad = append(ad, a.aaguid[:]...)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(a.credID)))
	ad = append(ad, a.credID...)
	ad = append(ad, a.coseKey(t)...)
	stmt := map[string]any{}
	format := o.format
	if format == "" {
		format = "none"
	}
	if format == "packed" {
		cdh := sha256.Sum256(cdj)
		sum := sha256.Sum256(append(append([]byte{}, ad...), cdh[:]...))
		signer := a.key
		if o.attKey != nil {
			signer = o.attKey
		}
		sig, err := ecdsa.SignASN1(rand.Reader, signer, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		if o.flipSig {
			sig[len(sig)-1] ^= 0x01
		}
		stmt = map[string]any{"alg": -7, "sig": sig}
		if len(o.x5c) > 0 {
			stmt["x5c"] = o.x5c
		}
	}
	att, err := cbor.Marshal(map[string]any{"fmt": format, "attStmt": stmt, "authData": ad})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"displayName": displayName,
		"publicKeyCredential": map[string]any{
			"id": b64(a.credID),
			"response": map[string]any{
				"clientDataJSON":    b64(cdj),
				"attestationObject": b64(att),
			},
			"clientExtensionResults": map[string]any{},
		},
	}
}

// assert signs a sign-in challenge with counter and returns the finish body.
func (a *authenticator) assert(t testing.TB, rpID, challenge string, counter uint32, userHandle []byte) map[string]any {
	t.Helper()
	cdj, _ := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": challenge, "origin": "https://" + rpID, "crossOrigin": false})
	rpHash := sha256.Sum256([]byte(rpID))
	ad := append(append([]byte{}, rpHash[:]...), 0x01|0x04)
	ad = binary.BigEndian.AppendUint32(ad, counter)
	cdh := sha256.Sum256(cdj)
	sum := sha256.Sum256(append(append([]byte{}, ad...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"id": b64(a.credID), "clientDataJSON": b64(cdj), "authenticatorData": b64(ad),
		"signature": b64(sig), "userHandle": base64.RawURLEncoding.EncodeToString(userHandle)}
}
