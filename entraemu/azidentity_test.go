package entraemu

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// TestAzidentityOverTLS is how the real passkeyd client gets tokens.
func TestAzidentityOverTLS(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(e.CACertPEM()) {
		t.Fatal("CA PEM not parsable")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	set := e.Settings()
	for _, tenant := range []string{set.TenantID, set.Domain} {
		cred, err := azidentity.NewClientSecretCredential(tenant, set.ClientID, set.ClientSecret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: e.URL() + "/"}, Transport: hc},
			DisableInstanceDiscovery: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.URL() + "/.default"}})
		if err != nil {
			t.Fatalf("GetToken (tenant %s): %v", tenant, err)
		}
		req, _ := http.NewRequest("GET", e.URL()+"/v1.0/users/"+set.Users[0].ID+"/authentication/fido2Methods", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("Graph with azidentity token: %d", resp.StatusCode)
		}
	}

	// Wrong secret surfaces the AADSTS code through azidentity.
	cred, _ := azidentity.NewClientSecretCredential(set.TenantID, set.ClientID, "wrong", &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: e.URL() + "/"}, Transport: hc},
		DisableInstanceDiscovery: true,
	})
	if _, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.URL() + "/.default"}}); err == nil || !strings.Contains(err.Error(), "7000215") {
		t.Errorf("wrong secret: %v", err)
	}

	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := e.WriteCAFile(path); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != string(e.CACertPEM()) {
		t.Fatalf("CA file: %v", err)
	}
	out, err := json.Marshal(e.Settings())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil || strings.Contains(string(out), "\n") {
		t.Fatalf("settings %s: %v", out, err)
	}
	for _, k := range []string{"tenant_id", "domain", "client_id", "client_secret", "ca_file", "authority_host", "graph_url", "url"} {
		if s, _ := m[k].(string); s == "" {
			t.Errorf("settings.%s empty", k)
		}
	}
	if users, _ := m["users"].([]any); len(users) != 3 {
		t.Errorf("settings.users = %v", m["users"])
	}
}
