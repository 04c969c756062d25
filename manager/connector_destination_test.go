package manager_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// recordingServer is a sign-in server an attacker would run: it records
// every request body it receives.
type recordingServer struct {
	*httptest.Server
	caPEM string
	mu    sync.Mutex
	got   []string
}

func newRecordingServer(t *testing.T) *recordingServer {
	t.Helper()
	rs := &recordingServer{}
	rs.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rs.mu.Lock()
		rs.got = append(rs.got, r.Method+" "+r.URL.Path+" "+string(b))
		rs.mu.Unlock()
		http.Error(w, "no", http.StatusNotFound)
	}))
	t.Cleanup(rs.Close)
	rs.caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rs.Certificate().Raw}))
	return rs
}

func (rs *recordingServer) requests() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string(nil), rs.got...)
}

// testCertificate returns a self-signed RSA 2048 certificate and its key,
// valid around the test clock.
func testCertificate(t *testing.T) passkeyd.CertificateUpload {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "passkeyd test"},
		NotBefore:    t0.Add(-time.Hour),
		NotAfter:     t0.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return passkeyd.CertificateUpload{
		CertificatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		PrivateKeyPEM:  passkeyd.Secret(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})),
	}
}

// Pointing the connector at another sign-in server, or another Graph,
// cloud, CA or tenant, must not carry the stored secret over: the update
// is refused unless it gives the secret again (or clears it), so Test
// Connection cannot be used to send the secret to a server of the
// caller's choosing.
func TestStoredSecretIsNotSentToANewDestination(t *testing.T) {
	v := newTestManager(t)
	evil := newRecordingServer(t)
	v.connect(t)
	before, err := v.db.Connector(v.admin)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		change func(u *passkeyd.ConnectorUpdate)
		names  string // the setting the problem must name
	}{
		{"authority host", func(u *passkeyd.ConnectorUpdate) {
			u.AuthorityHost, u.CACertPEM = evil.URL, v.caPEM+evil.caPEM
		}, "authority_host"},
		{"graph URL", func(u *passkeyd.ConnectorUpdate) { u.GraphURL = evil.URL + "/graph" }, "graph_url"},
		{"CA", func(u *passkeyd.ConnectorUpdate) { u.CACertPEM = v.caPEM + evil.caPEM }, "ca_cert_pem"},
		{"cloud", func(u *passkeyd.ConnectorUpdate) { u.Cloud = passkeyd.CloudUSGov }, "cloud"},
		{"tenant", func(u *passkeyd.ConnectorUpdate) { u.TenantID = "11111111-2222-3333-4444-555555555555" }, "tenant_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := v.connectorUpdate("")
			u.ClientSecret = nil // "keep the stored secret"
			tt.change(&u)
			_, err := v.m.UpdateConnector(v.admin, u)
			wantCode(t, err, passkeyd.EInvalid)
			fe := passkeyd.ErrorFields(err)
			if len(fe) != 1 || fe[0].Field != "client_secret" || !strings.Contains(fe[0].Message, tt.names) ||
				!strings.Contains(fe[0].Message, "give the secret again") {
				t.Errorf("fields = %v, want one client_secret problem naming %s", fe, tt.names)
			}
			after, err := v.db.Connector(v.admin)
			if err != nil {
				t.Fatal(err)
			}
			if after.AuthorityHost != before.AuthorityHost || after.GraphURL != before.GraphURL || after.Cloud != before.Cloud ||
				after.TenantID != before.TenantID || after.CACertPEM != before.CACertPEM || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Errorf("a refused update changed the connector: %+v", after)
			}
		})
	}

	// Test Connection still talks to the configured server only.
	if _, err := v.m.TestConnection(v.admin, passkeyd.TestOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := evil.requests(); len(got) != 0 {
		t.Fatalf("the other server received %d requests: %q", len(got), got)
	}

	// Given again, the secret goes with the new settings; cleared, none is kept.
	u := v.connectorUpdate(v.set.ClientSecret)
	u.AuthorityHost, u.CACertPEM = evil.URL, v.caPEM+evil.caPEM
	c, err := v.m.UpdateConnector(v.admin, u)
	if err != nil || c.AuthorityHost != evil.URL || !c.HasClientSecret {
		t.Fatalf("update with the secret given again = %+v, %v", c, err)
	}
	u = v.connectorUpdate("")
	u.Enabled = false
	if c, err = v.m.UpdateConnector(v.admin, u); err != nil || c.HasClientSecret || c.AuthorityHost != v.url {
		t.Fatalf("update clearing the secret = %+v, %v", c, err)
	}
}

// A stored certificate is held to the same rule, and a secret given alone
// does not carry the certificate over.
func TestStoredCertificateIsNotUsedWithANewDestination(t *testing.T) {
	v := newTestManager(t)
	cert := testCertificate(t)
	u := v.connectorUpdate(v.set.ClientSecret)
	u.ClientCertificate = &cert
	if _, err := v.m.UpdateConnector(v.admin, u); err != nil {
		t.Fatal(err)
	}

	u = v.connectorUpdate(v.set.ClientSecret) // the secret again, not the certificate
	u.GraphURL = v.url + "/elsewhere"
	_, err := v.m.UpdateConnector(v.admin, u)
	wantCode(t, err, passkeyd.EInvalid)
	if fe := passkeyd.ErrorFields(err); len(fe) != 1 || fe[0].Field != "client_certificate" || !strings.Contains(fe[0].Message, "graph_url") {
		t.Fatalf("fields = %v, want one client_certificate problem naming graph_url", fe)
	}

	u.ClientCertificate = &passkeyd.CertificateUpload{} // remove it
	c, err := v.m.UpdateConnector(v.admin, u)
	if err != nil || c.CertificateChainPEM != "" || !c.HasClientSecret {
		t.Fatalf("update removing the certificate = %+v, %v", c, err)
	}

	// Settings that do not decide the destination keep the credentials.
	u = v.connectorUpdate("")
	u.GraphURL = v.url + "/elsewhere"
	u.ClientSecret, u.DisplayNameTemplate, u.ChallengeTimeoutMinutes = nil, "pk {device}", 10
	if c, err = v.m.UpdateConnector(v.admin, u); err != nil || !c.HasClientSecret {
		t.Fatalf("unrelated update = %+v, %v", c, err)
	}
}
