package audit_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
)

const hookSecret passkeyd.Secret = "0123456789abcdef-webhook"

var hookNow = time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC)

// receiver is a webhook receiver that answers with the statuses given,
// in turn (200 once they run out), and records what it verified.
type receiver struct {
	t        *testing.T
	mu       sync.Mutex
	statuses []int
	calls    int
	verified []audit.WebhookBatch
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("read body: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	err = audit.VerifyWebhookSignature(hookSecret, req.Header.Get(audit.WebhookTimestampHeader), body,
		req.Header.Get(audit.WebhookSignatureHeader), hookNow, 5*time.Minute)
	if err != nil {
		r.t.Errorf("call %d: signature: %v", r.calls, err)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		r.t.Errorf("Content-Type = %q", ct)
	}
	status := http.StatusOK
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	if status == http.StatusOK {
		var b audit.WebhookBatch
		if err := json.Unmarshal(body, &b); err != nil {
			r.t.Errorf("body: %v", err)
		}
		r.verified = append(r.verified, b)
	}
	w.WriteHeader(status)
}

func newHook(t *testing.T, statuses ...int) (*receiver, *audit.WebhookSink, *[]time.Duration) {
	t.Helper()
	rcv := &receiver{t: t, statuses: statuses}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	var slept []time.Duration
	sink := &audit.WebhookSink{
		URL: srv.URL + "/hook?token=hidden", Secret: hookSecret, Client: srv.Client(),
		MaxAttempts: 3, Now: func() time.Time { return hookNow },
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
	}
	return rcv, sink, &slept
}

func TestWebhookDelivers(t *testing.T) {
	rcv, sink, slept := newHook(t)
	evs := chain(t, 3)
	if err := sink.Send(context.Background(), evs); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if rcv.calls != 1 || len(*slept) != 0 {
		t.Errorf("%d calls, slept %v; want 1 call, no sleep", rcv.calls, *slept)
	}
	if len(rcv.verified) != 1 || len(rcv.verified[0].Events) != 3 || rcv.verified[0].Events[2].Hash != evs[2].Hash {
		t.Fatalf("received %+v, want the 3 events", rcv.verified)
	}
	if rep := verify(t, pages(rcv.verified[0].Events)); !rep.OK {
		t.Errorf("delivered events do not verify: %+v", rep)
	}
}

func TestWebhookRetries(t *testing.T) {
	cases := []struct {
		name      string
		statuses  []int
		wantCalls int
		wantErr   bool
		wantSleep []time.Duration
	}{
		{"503 then success", []int{503}, 2, false, []time.Duration{time.Second}},
		{"429 then 500 then success", []int{429, 500}, 3, false, []time.Duration{time.Second, 2 * time.Second}},
		{"400 stops", []int{400}, 1, true, nil},
		{"redirect is not followed", []int{307}, 1, true, nil},
		{"gives up after MaxAttempts", []int{502, 502, 502, 502}, 3, true, []time.Duration{time.Second, 2 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rcv, sink, slept := newHook(t, tc.statuses...)
			sink.Client = nil // the default client, which must not follow redirects
			err := sink.Send(context.Background(), chain(t, 1))
			if (err != nil) != tc.wantErr {
				t.Errorf("Send error = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hidden") {
				t.Errorf("error %q shows the URL's token", err)
			}
			if rcv.calls != tc.wantCalls {
				t.Errorf("%d calls, want %d", rcv.calls, tc.wantCalls)
			}
			if !equalDurations(*slept, tc.wantSleep) {
				t.Errorf("slept %v, want %v", *slept, tc.wantSleep)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWebhookRetryStopsWithContext(t *testing.T) {
	rcv, sink, _ := newHook(t, 503, 503, 503)
	ctx, cancel := context.WithCancel(context.Background())
	sink.Sleep = func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }
	if err := sink.Send(ctx, chain(t, 1)); err == nil {
		t.Fatal("Send succeeded after cancel")
	}
	if rcv.calls != 1 {
		t.Errorf("%d calls after cancel, want 1", rcv.calls)
	}
}

func TestWebhookValidate(t *testing.T) {
	cases := []struct {
		name  string
		sink  audit.WebhookSink
		field string
	}{
		{"plain http to remote", audit.WebhookSink{URL: "http://siem.example/hook", Secret: hookSecret}, "url"},
		{"credentials in URL", audit.WebhookSink{URL: "https://u:p@siem.example/hook", Secret: hookSecret}, "url"},
		{"short secret", audit.WebhookSink{URL: "https://siem.example/hook", Secret: "short"}, "secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.sink.Validate()
			if f := passkeyd.ErrorFields(err); len(f) != 1 || f[0].Field != tc.field {
				t.Errorf("Validate = %v, want one problem on %q", err, tc.field)
			}
		})
	}
	ok := audit.WebhookSink{URL: "http://127.0.0.1:8080/hook", Secret: hookSecret}
	if err := ok.Validate(); err != nil {
		t.Errorf("loopback http: %v", err)
	}
}

func TestVerifyWebhookSignature(t *testing.T) {
	body := []byte(`{"events":[]}`)
	ts := "1764064800" // hookNow
	good := audit.SignWebhook(hookSecret, ts, body)
	cases := []struct {
		name             string
		secret           passkeyd.Secret
		ts, header, body string
		wantOK           bool
	}{
		{"valid", hookSecret, ts, good, string(body), true},
		{"tampered body", hookSecret, ts, good, `{"events":[{}]}`, false},
		{"other timestamp", hookSecret, "1764064801", good, string(body), false},
		{"other secret", "another-secret-of-16+", ts, good, string(body), false},
		{"stale", hookSecret, "1764060000", audit.SignWebhook(hookSecret, "1764060000", body), string(body), false},
		{"no prefix", hookSecret, ts, strings.TrimPrefix(good, "sha256="), string(body), false},
		{"short mac", hookSecret, ts, good[:20], string(body), false},
		{"junk timestamp", hookSecret, "yesterday", good, string(body), false},
		{"huge header", hookSecret, ts, good + strings.Repeat("0", 200), string(body), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := audit.VerifyWebhookSignature(tc.secret, tc.ts, []byte(tc.body), tc.header, hookNow, 5*time.Minute)
			if (err == nil) != tc.wantOK {
				t.Fatalf("VerifyWebhookSignature = %v, want ok %v", err, tc.wantOK)
			}
			if err != nil && passkeyd.ErrorCodeOf(err) != passkeyd.EUnauthorized {
				t.Errorf("code %s, want unauthorized", passkeyd.ErrorCodeOf(err))
			}
		})
	}
}
