package entraemu

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestWriteQuota drives the token bucket with the injectable clock:
// Limit writes pass, the next is a 429 with Retry-After and the throttle
// headers, a token frees after Window/Limit, reads are never counted, and
// another app in the same tenant has its own bucket.
func TestWriteQuota(t *testing.T) {
	v := newEnv(t, nil)
	if err := v.e.SetWriteQuota(WriteQuota{Limit: 3, Window: 6 * time.Second}); err != nil {
		t.Fatal(err)
	}
	tok := v.token(t)
	del := func(tok string) (int, map[string]any, http.Header) {
		t.Helper()
		// An unknown method: the write still takes a token, then 404s.
		return v.graph(t, "DELETE", methodsPath(aliceUPN)+"/bm9uZQ", tok, nil)
	}
	for i := range 3 {
		if st, body, _ := del(tok); st != http.StatusNotFound {
			t.Fatalf("write %d within the quota: %d %v, want 404", i, st, body)
		}
	}
	// Reads do not use the write quota.
	if st, body, _ := v.graph(t, "GET", methodsPath(aliceUPN), tok, nil); st != http.StatusOK {
		t.Fatalf("list: %d %v", st, body)
	}
	st, body, h := del(tok)
	if st != http.StatusTooManyRequests || graphCode(body) != "activityLimitReached" {
		t.Fatalf("write over the quota: %d %v, want 429 activityLimitReached", st, body)
	}
	// One token every 2 s.
	if got := h.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2", got)
	}
	if got, want := h.Get("x-ms-throttle-scope"), "Tenant_Application/Write/"+v.set.ClientID+"/"+v.set.TenantID; got != want {
		t.Errorf("x-ms-throttle-scope = %q, want %q", got, want)
	}
	if h.Get("x-ms-throttle-information") == "" {
		t.Error("no x-ms-throttle-information header")
	}

	// Half a token later the wait shrinks; a full token later one write passes.
	v.clock.Advance(1500 * time.Millisecond)
	if _, _, h := del(tok); h.Get("Retry-After") != "1" {
		t.Errorf("Retry-After after 1.5 s = %q, want 1 (rounded up)", h.Get("Retry-After"))
	}
	v.clock.Advance(500 * time.Millisecond)
	if st, _, _ := del(tok); st != http.StatusNotFound {
		t.Fatalf("write after a token freed: %d, want 404", st)
	}
	if st, _, _ := del(tok); st != http.StatusTooManyRequests {
		t.Fatalf("second write after one token freed: %d, want 429", st)
	}

	// Another app of the tenant has a full bucket of its own.
	other, err := v.e.AddApp(v.set.TenantID, App{Secrets: []ClientSecret{{Value: "other-app-secret"}}, Roles: []string{RolePasskeyReadWriteAll}})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {other.ClientID},
		"client_secret": {"other-app-secret"}, "scope": {v.srv.URL + "/.default"}}
	st, tb := v.tokenReq(t, v.set.TenantID, form)
	if st != http.StatusOK {
		t.Fatalf("token for the other app: %d %v", st, tb)
	}
	if st, _, _ := del(tb["access_token"].(string)); st != http.StatusNotFound {
		t.Fatalf("other app's write: %d, want 404 (own bucket)", st)
	}

	// The bucket never holds more than Limit, however long the pause.
	v.clock.Advance(10 * time.Minute)
	for i := range 3 {
		if st, _, _ := del(tok); st != http.StatusNotFound {
			t.Fatalf("write %d after a long pause: %d", i, st)
		}
	}
	if st, _, _ := del(tok); st != http.StatusTooManyRequests {
		t.Fatalf("write 4 after a long pause: %d, want 429 (bucket capped at Limit)", st)
	}
	if got, want := v.e.QuotaStats(), (QuotaStats{Allowed: 8, Throttled: 4}); got != want {
		t.Errorf("QuotaStats = %+v, want %+v", got, want)
	}

	// Off again: no limit.
	if err := v.e.SetWriteQuota(WriteQuota{}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if st, _, _ := del(tok); st != http.StatusNotFound {
			t.Fatalf("write %d with the quota off: %d", i, st)
		}
	}
}

func TestSetWriteQuotaInvalid(t *testing.T) {
	v := newEnv(t, nil)
	for _, q := range []WriteQuota{{Limit: -1, Window: time.Second}, {Limit: 1}, {Window: time.Second}, {Limit: 1, Window: -time.Second}} {
		if err := v.e.SetWriteQuota(q); err == nil {
			t.Errorf("SetWriteQuota(%+v) accepted", q)
		}
	}
}

func TestParseWriteQuota(t *testing.T) {
	tests := []struct {
		in   string
		want WriteQuota
		err  string
	}{
		{"3000/150s", WriteQuota{Limit: 3000, Window: 150 * time.Second}, ""},
		{"60/3s", WriteQuota{Limit: 60, Window: 3 * time.Second}, ""},
		{"3000", WriteQuota{}, "want LIMIT/WINDOW"},
		{"0/1s", WriteQuota{}, "positive"},
		{"10/-1s", WriteQuota{}, "positive"},
		{"x/1s", WriteQuota{}, "positive"},
	}
	for _, tt := range tests {
		got, err := ParseWriteQuota(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseWriteQuota(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseWriteQuota(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}
