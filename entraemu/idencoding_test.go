package entraemu

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"
)

// TestIDEncodings checks each encoding in excludeCredentials and in
// method IDs, and that every method ID written round-trips through GET
// and DELETE (percent-encoded, as a client must send it).
func TestIDEncodings(t *testing.T) {
	// 20 bytes whose encodings use '+', '/', '-', '_' and one '='.
	credID := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 7)[:20]
	url64 := base64.RawURLEncoding.EncodeToString(credID)
	std := base64.StdEncoding.EncodeToString(credID)
	if std != "+/+/+/+/+/+/+/+/+/+/+/+/+/8=" || url64+"1" != "-_-_-_-_-_-_-_-_-_-_-_-_-_81" {
		t.Fatalf("test vector changed: %s %s", std, url64)
	}
	tests := []struct {
		enc               IDEncoding
		exclude, methodID string
	}{
		{IDEncodingBase64URL, url64, url64 + "1"},
		{IDEncodingStdPadded, std, std},
		{IDEncodingPaddingDigit, url64 + "1", url64 + "1"},
	}
	for _, tc := range tests {
		t.Run(tc.enc.String(), func(t *testing.T) {
			v := newEnv(t, nil)
			v.e.SetIDEncoding(tc.enc)
			tok := v.token(t)
			a := newAuthenticator(t, 70)
			a.credID = credID
			st, m, hdr := v.graph(t, "POST", methodsPath(aliceUPN), tok, a.create(t, v.options(t, tok, aliceUPN), "key", makeOpts{}))
			if st != http.StatusCreated || m["id"] != tc.methodID {
				t.Fatalf("create: %d id %v, want %s", st, m["id"], tc.methodID)
			}
			if loc := hdr.Get("Location"); loc != v.srv.URL+methodsPath(v.e.Users(v.set.TenantID)[0].ID)+"/"+url.PathEscape(tc.methodID) {
				t.Errorf("Location = %s", loc)
			}
			ex := v.options(t, tok, aliceUPN)["excludeCredentials"].([]any)
			if len(ex) != 1 || ex[0].(map[string]any)["id"] != tc.exclude {
				t.Errorf("excludeCredentials = %v, want id %s", ex, tc.exclude)
			}
			st, list, _ := v.graph(t, "GET", methodsPath(aliceUPN), tok, nil)
			if vals, _ := list["value"].([]any); st != 200 || len(vals) != 1 || vals[0].(map[string]any)["id"] != tc.methodID {
				t.Errorf("list: %d %v", st, list)
			}
			item := methodsPath(aliceUPN) + "/" + url.PathEscape(tc.methodID)
			if st, got, _ := v.graph(t, "GET", item, tok, nil); st != 200 || got["id"] != tc.methodID {
				t.Errorf("get: %d %v", st, got)
			}
			// Another client may have read the ID under another setting:
			// the emulator accepts every form it wrote.
			v.e.SetIDEncoding((tc.enc + 1) % 3)
			if st, got, _ := v.graph(t, "GET", item, tok, nil); st != 200 {
				t.Errorf("get after the setting changed: %d %v", st, got)
			}
			if st, got, _ := v.graph(t, "GET", methodsPath(aliceUPN)+"/"+url64, tok, nil); st != 404 {
				t.Errorf("get by a form never written (unpadded base64url): %d %v", st, got)
			}
			if st, got, _ := v.graph(t, "DELETE", item, tok, nil); st != http.StatusNoContent {
				t.Fatalf("delete: %d %v", st, got)
			}
			if n := len(v.e.Methods(v.set.TenantID, aliceUPN)); n != 0 {
				t.Errorf("%d methods left after delete", n)
			}
		})
	}
	t.Run("unknown value means default", func(t *testing.T) {
		v := newEnv(t, nil)
		v.e.SetIDEncoding(IDEncoding(42))
		if got := v.e.idEncoding; got != IDEncodingBase64URL {
			t.Errorf("encoding = %v", got)
		}
	})
}
