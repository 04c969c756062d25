package graph

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

func TestTokenCachedAcrossCalls(t *testing.T) {
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) { writeRaw(w, http.StatusOK, sampleOptions) })
	c := f.client(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				if _, err := c.CreationOptions(context.Background(), testUPN, 5); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := f.graphRequests.Load(); n != 40 {
		t.Errorf("%d Graph requests, want 40", n)
	}
	if n := f.tokenRequests.Load(); n != 1 {
		t.Errorf("%d token requests for 40 calls, want 1", n)
	}
	tok, err := c.Token(context.Background())
	if err != nil || tok != testToken(1) {
		t.Errorf("Token = %q, %v; want the cached first token", tok, err)
	}
	f.mu.Lock()
	form := f.tokenForms[0]
	f.mu.Unlock()
	want := map[string]string{
		"grant_type":    "client_credentials",
		"client_id":     testClientID,
		"client_secret": testSecret,
	}
	// MSAL adds the OIDC scopes; the one resource scope must come first.
	if scopes := strings.Fields(form.Get("scope")); len(scopes) == 0 || scopes[0] != f.srv.URL+"/.default" {
		t.Errorf("token form scope = %q, want %s/.default first", form.Get("scope"), f.srv.URL)
	}
	for k, v := range want {
		if form.Get(k) != v {
			t.Errorf("token form %s = %q, want %q", k, form.Get(k), v)
		}
	}
}

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   passkeyd.GraphError
	}{
		{
			name:   "wrong secret",
			status: 401,
			body: `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: t1\r\nCorrelation ID: c1\r\nTimestamp: 2030-01-01 00:00:00Z",
				"error_codes":[7000215],"timestamp":"2030-01-01 00:00:00Z","trace_id":"t1","correlation_id":"c1"}`,
			want: passkeyd.GraphError{Status: 401, Code: "invalid_client", ErrorCodes: []int{7000215},
				Message: "AADSTS7000215: Invalid client secret provided.", RequestID: "t1", ClientRequestID: "c1"},
		},
		{
			name:   "app not in tenant",
			status: 400,
			body:   `{"error":"unauthorized_client","error_description":"AADSTS700016: Application not found.","error_codes":[700016],"trace_id":"t2","correlation_id":"c2"}`,
			want: passkeyd.GraphError{Status: 400, Code: "unauthorized_client", ErrorCodes: []int{700016},
				Message: "AADSTS700016: Application not found.", RequestID: "t2", ClientRequestID: "c2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) { t.Error("Graph called without a token") })
			f.setTokenHandler(func(w http.ResponseWriter, r *http.Request, n int) { writeRaw(w, tt.status, tt.body) })
			_, err := f.client(t).ListMethods(context.Background(), testUPN)
			ge := mustGraphError(t, err)
			want := tt.want
			want.Op = "token"
			if !reflect.DeepEqual(*ge, want) {
				t.Errorf("GraphError = %+v\nwant         %+v", *ge, want)
			}
			if passkeyd.ExplainAADSTS(ge.ErrorCodes[0]) == "" {
				t.Errorf("no advice for AADSTS%d", ge.ErrorCodes[0])
			}
			if ge.Temporary() {
				t.Error("a credential error must not be temporary")
			}
		})
	}
}

func TestExplainAADSTS(t *testing.T) {
	for _, code := range []int{7000215, 7000222, 7000218, 700016, 700027, 700024, 90002, 900023, 90038, 70011, 700022, 700023} {
		if passkeyd.ExplainAADSTS(code) == "" {
			t.Errorf("passkeyd.ExplainAADSTS(%d) is empty", code)
		}
	}
	if got := passkeyd.ExplainAADSTS(1); got != "" {
		t.Errorf("passkeyd.ExplainAADSTS(1) = %q, want empty", got)
	}
}

func TestTokenEndpointUnreachableIsTemporary(t *testing.T) {
	f := newFakeMS(t, nil)
	f.setTokenHandler(func(w http.ResponseWriter, r *http.Request, n int) { hangUp(t, w) })
	_, err := f.client(t).Token(context.Background())
	ge := mustGraphError(t, err)
	if ge.Op != "token" || ge.Status != 0 || !ge.Temporary() {
		t.Errorf("GraphError = %+v, want a temporary token transport error", ge)
	}
}

func TestCustomRootsOnly(t *testing.T) {
	f := newFakeMS(t, nil)
	// Trusting another root only must make the fake's certificate
	// untrusted, although the system pool may not know it either: the
	// point is that the configured roots are the ones used.
	cfg := f.config()
	cfg.RootCAsPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: selfSignedDER(t)})
	_, err := f.clientWith(t, cfg).Token(context.Background())
	ge := mustGraphError(t, err)
	// MSAL flattens the TLS error into text, so only the text tells.
	if ge.Op != "token" || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("err = %v, want an unknown-authority token error", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	good := passkeyd.GraphConfig{
		AuthorityHost: "https://login.microsoftonline.com",
		GraphURL:      "https://graph.microsoft.com/",
		TenantID:      "contoso.onmicrosoft.com",
		ClientID:      testClientID,
		ClientSecret:  "s",
	}
	if _, err := New(good); err != nil {
		t.Fatalf("New(good) = %v", err)
	}
	tests := []struct {
		name   string
		edit   func(*passkeyd.GraphConfig)
		fields []string
	}{
		{"everything missing", func(c *passkeyd.GraphConfig) { *c = passkeyd.GraphConfig{} },
			[]string{"authority_host", "graph_url", "tenant_id", "client_id", "client_secret"}},
		{"http authority", func(c *passkeyd.GraphConfig) { c.AuthorityHost = "http://login.example" }, []string{"authority_host"}},
		{"graph with version", func(c *passkeyd.GraphConfig) { c.GraphURL = "https://graph.microsoft.com/v1.0" }, []string{"graph_url"}},
		{"graph with query", func(c *passkeyd.GraphConfig) { c.GraphURL = "https://graph.microsoft.com?x=1" }, []string{"graph_url"}},
		{"bad tenant", func(c *passkeyd.GraphConfig) { c.TenantID = "../common" }, []string{"tenant_id"}},
		{"bad client id", func(c *passkeyd.GraphConfig) { c.ClientID = "my-app" }, []string{"client_id"}},
		{"bad CA", func(c *passkeyd.GraphConfig) { c.RootCAsPEM = []byte("not pem") }, []string{"ca_cert_pem"}},
		{"negative timeout", func(c *passkeyd.GraphConfig) { c.Timeout = -time.Second }, []string{"timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			_, err := New(cfg)
			mustCode(t, err, passkeyd.EInvalid)
			var got []string
			for _, f := range passkeyd.ErrorFields(err) {
				got = append(got, f.Field)
			}
			if !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("fields = %v, want %v", got, tt.fields)
			}
		})
	}
}

// selfSignedDER returns a CA certificate unrelated to the test server's.
func selfSignedDER(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "unrelated test root"},
		NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
