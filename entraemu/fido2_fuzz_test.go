package entraemu

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzCreateBody: whatever body a client posts to fido2Methods, the
// emulator answers 201 or a 4xx in Graph's error envelope, never a 5xx,
// and stores a method only when it answers 201.
func FuzzCreateBody(f *testing.F) {
	v := newEnv(f, nil)
	tok := v.token(f)
	pk := v.options(f, tok, aliceUPN)
	valid, err := json.Marshal(newAuthenticator(f, 1).create(f, pk, "Alice's key", makeOpts{}))
	if err != nil {
		f.Fatal(err)
	}
	// The options' challenge is single-use; keep its state to put it back
	// before each input, so that every input can reach the attestation
	// checks rather than stop at "challenge already used".
	chKey := sha256.Sum256([]byte(pk["challenge"].(string)))
	v.e.mu.Lock()
	chState := *v.e.challenges[chKey]
	v.e.mu.Unlock()

	post := func(body []byte) *httptest.ResponseRecorder {
		v.e.mu.Lock()
		st := chState
		v.e.challenges[chKey] = &st
		v.e.mu.Unlock()
		r := httptest.NewRequest("POST", v.srv.URL+methodsPath(aliceUPN), strings.NewReader(string(body)))
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		v.e.ServeHTTP(w, r)
		return w
	}
	remove := func(t testing.TB, id string) {
		t.Helper()
		r := httptest.NewRequest("DELETE", v.srv.URL+methodsPath(aliceUPN)+"/"+id, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		v.e.ServeHTTP(w, r)
		if w.Code != http.StatusNoContent {
			t.Fatalf("delete %s: %d %s", id, w.Code, w.Body)
		}
	}
	// The valid body must be accepted, or the target would only explore
	// refusals.
	if w := post(valid); w.Code != http.StatusCreated {
		f.Fatalf("the valid body is refused: %d %s", w.Code, w.Body)
	} else {
		var m map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &m)
		id, _ := m["id"].(string)
		remove(f, id)
	}

	s := string(valid)
	for _, seed := range []string{
		s,
		s + " {}",
		s[:len(s)/2],
		strings.Replace(s, `"displayName":"Alice's key"`, `"displayName":""`, 1),
		strings.Replace(s, `"displayName":"Alice's key"`, `"displayName":7`, 1),
		strings.Replace(s, `"clientExtensionResults":{}`, `"clientExtensionResults":[1]`, 1),
		strings.Replace(s, `"clientExtensionResults":{}`, `"clientExtensionResults":{"credProps":{"rk":"yes"}}`, 1),
		strings.Replace(s, `"response":{`, `"response":{"transports":["usb"],`, 1),
		strings.Replace(s, `"id":"`, `"id":"==`, 1),
		`{}`, `null`, `[]`, `{"displayName":"k","publicKeyCredential":null}`,
		`{"displayName":"k","publicKeyCredential":{"id":"AA","response":{"clientDataJSON":"e30","attestationObject":"oA"}}}`,
		`{"displayName":"k","publicKeyCredential":{"id":"AA","response":{"clientDataJSON":"e30","attestationObject":"o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YUA"}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := len(v.e.Methods(v.set.TenantID, aliceUPN))
		w := post(body)
		after := len(v.e.Methods(v.set.TenantID, aliceUPN))
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("status %d, body is not JSON: %q", w.Code, w.Body)
		}
		switch {
		case w.Code == http.StatusCreated:
			id, _ := m["id"].(string)
			if id == "" || after != before+1 {
				t.Fatalf("201 with id %q and %d methods stored, want %d", id, after, before+1)
			}
			remove(t, id)
		case w.Code >= 400 && w.Code < 500:
			e, _ := m["error"].(map[string]any)
			code, _ := e["code"].(string)
			msg, _ := e["message"].(string)
			if _, inner := e["innerError"].(map[string]any); code == "" || msg == "" || !inner {
				t.Fatalf("status %d without Graph's error envelope: %s", w.Code, w.Body)
			}
			if after != before {
				t.Fatalf("status %d, yet %d methods stored, want %d", w.Code, after, before)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
