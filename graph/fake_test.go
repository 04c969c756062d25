package graph

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

const (
	testTenant   = "11111111-2222-3333-4444-555555555555"
	testClientID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	testSecret   = "planted-secret-Qx7~value"
	testUserID   = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	testUPN      = "alice@contoso.com"
	testUPNPath  = "alice%40contoso.com"
)

// fakeMS is a TLS server playing both the identity platform (discovery and
// token endpoint) and Graph. Graph requests go to the graph handler the
// test sets; token requests get a fresh JWT-shaped token each, unless
// tokenHandler says otherwise.
type fakeMS struct {
	srv *httptest.Server

	tokenRequests atomic.Int32
	graphRequests atomic.Int32

	mu           sync.Mutex
	tokenForms   []url.Values
	tokenHandler func(w http.ResponseWriter, r *http.Request, n int)
	graph        http.HandlerFunc
}

func newFakeMS(t testing.TB, graph http.HandlerFunc) *fakeMS {
	t.Helper()
	f := &fakeMS{graph: graph}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	// Handshakes refused on purpose (TestCustomRootsOnly) are not news.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeMS) serve(w http.ResponseWriter, r *http.Request) {
	base := "/" + testTenant
	switch r.URL.Path {
	case base + "/v2.0/.well-known/openid-configuration":
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                 f.srv.URL + base + "/v2.0",
			"token_endpoint":         f.srv.URL + base + "/oauth2/v2.0/token",
			"authorization_endpoint": f.srv.URL + base + "/oauth2/v2.0/authorize",
			"jwks_uri":               f.srv.URL + base + "/discovery/v2.0/keys",
		})
	case base + "/oauth2/v2.0/token":
		n := int(f.tokenRequests.Add(1))
		_ = r.ParseForm()
		f.mu.Lock()
		f.tokenForms = append(f.tokenForms, r.PostForm)
		h := f.tokenHandler
		f.mu.Unlock()
		if h != nil {
			h(w, r, n)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
			"access_token": testToken(n),
		})
	default:
		f.graphRequests.Add(1)
		f.mu.Lock()
		g := f.graph
		f.mu.Unlock()
		if g == nil {
			http.NotFound(w, r)
			return
		}
		g(w, r)
	}
}

func (f *fakeMS) setGraph(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.graph = h
}

func (f *fakeMS) setTokenHandler(h func(w http.ResponseWriter, r *http.Request, n int)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenHandler = h
}

func (f *fakeMS) config() passkeyd.GraphConfig {
	return passkeyd.GraphConfig{
		AuthorityHost: f.srv.URL,
		GraphURL:      f.srv.URL,
		TenantID:      testTenant,
		ClientID:      testClientID,
		ClientSecret:  passkeyd.Secret(testSecret),
		RootCAsPEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw}),
	}
}

func (f *fakeMS) client(t testing.TB, opts ...Option) *Client {
	t.Helper()
	return f.clientWith(t, f.config(), opts...)
}

func (f *fakeMS) clientWith(t testing.TB, cfg passkeyd.GraphConfig, opts ...Option) *Client {
	t.Helper()
	c, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// testToken is the n-th token the fake issues: JWT-shaped, with the
// claims Test Connection reads and a marker that must never be logged.
func testToken(n int) string {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	payload := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(
		`{"aud":"https://graph.microsoft.com","tid":%q,"appid":%q,"roles":["UserAuthMethod-Passkey.ReadWrite.All"],"exp":1900000000,"n":%d}`,
		testTenant, testClientID, n)))
	return header + "." + payload + ".PLANTED-TOKEN-SIG-" + fmt.Sprint(n)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeRaw(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// sampleOptions is a creationOptions body in the documented shape.
const sampleOptions = `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.webauthnCredentialCreationOptions",
"challengeTimeoutDateTime":"2030-01-02T03:04:05.1234567Z",
"publicKey":{ "challenge":"Y2hhbGxlbmdl", "rp":{"id":"login.microsoft.com","name":"Microsoft"},
 "user":{"id":"dXNlcg","name":"alice@contoso.com","displayName":"Alice"},
 "pubKeyCredParams":[{"type":"public-key","alg":-7},{"type":"public-key","alg":-257}],
 "timeout":60000,"excludeCredentials":[{"type":"public-key","id":"abc+/w==","transports":["usb"]}],
 "authenticatorSelection":{"requireResidentKey":true,"userVerification":"required"},
 "attestation":"direct","extensions":{"hmacCreateSecret":true},"futureField":{"x":1}}}`

const sampleMethod = `{"@odata.type":"#microsoft.graph.fido2AuthenticationMethod","id":"Y3JlZC1pZA2",
"displayName":"passkeyd Pixel","createdDateTime":"2030-01-02T03:04:05Z","aaGuid":"90a3ccdf-635c-4729-a248-9b709135078f",
"model":null,"attestationCertificates":["abcd"],"attestationLevel":"attested","passkeyType":"deviceBound"}`

// mustCode fails unless err is a *passkeyd.Error with code.
func mustCode(t *testing.T, err error, code passkeyd.ErrorCode) {
	t.Helper()
	if got := passkeyd.ErrorCodeOf(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

func mustGraphError(t *testing.T, err error) *passkeyd.GraphError {
	t.Helper()
	ge := passkeyd.AsGraphError(err)
	if ge == nil {
		t.Fatalf("want *passkeyd.GraphError, got %T: %v", err, err)
	}
	return ge
}

func hasPrefixFold(s, prefix string) bool {
	return strings.HasPrefix(strings.ToLower(s), strings.ToLower(prefix))
}
