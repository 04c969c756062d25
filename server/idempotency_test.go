package server

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// memIdempotency is an in-memory Idempotency that counts its records.
type memIdempotency struct {
	mu   sync.Mutex
	recs map[string]*Replay // nil value: claimed, running
	hash map[string]string
}

func newMemIdempotency() *memIdempotency {
	return &memIdempotency{recs: map[string]*Replay{}, hash: map[string]string{}}
}

func (m *memIdempotency) Begin(_ context.Context, scope, key string, reqHash []byte) (*Replay, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := scope + "\x00" + key
	if rep, ok := m.recs[k]; ok {
		switch {
		case m.hash[k] != string(reqHash):
			return nil, passkeyd.Errorf(passkeyd.EUnprocessable, "another request")
		case rep == nil:
			return nil, passkeyd.Errorf(passkeyd.EConflict, "running")
		}
		return rep, nil
	}
	m.recs[k], m.hash[k] = nil, string(reqHash)
	return nil, nil
}

func (m *memIdempotency) Finish(_ context.Context, scope, key string, status int, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs[scope+"\x00"+key] = &Replay{Status: status, Body: body}
	return nil
}

func (m *memIdempotency) Abandon(_ context.Context, scope, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, scope+"\x00"+key)
	delete(m.hash, scope+"\x00"+key)
	return nil
}

func (m *memIdempotency) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.recs)
}

// Failed device registrations are anonymous: they must not leave an
// Idempotency-Key record each, or anyone could fill the table. A redeemed
// invitation keeps its record, so a device that lost the answer gets its
// token again. The manager learns the client's address.
func TestAnonymousFailuresKeepNoIdempotencyRecord(t *testing.T) {
	svc := newFake()
	var clients []string
	svc.RegisterDeviceFn = func(ctx context.Context, code passkeyd.Secret, info passkeyd.DeviceInfo) (*passkeyd.Device, passkeyd.Secret, error) {
		clients = append(clients, passkeyd.ClientIPFrom(ctx))
		if code.Reveal() != "GOOD-CODE" {
			return nil, "", passkeyd.Errorf(passkeyd.EUnauthorized, "unknown invitation code")
		}
		return &passkeyd.Device{ID: deviceID, UserID: userID, Name: info.Name, State: passkeyd.DeviceActive}, "device-token-new-0123456789", nil
	}
	idem := newMemIdempotency()
	s, _ := newServer(t, svc, func(c *Config) { c.Idempotency = idem })
	for i := range 20 {
		w := do(t, s, req{method: "POST", path: "/api/v1/device/register", body: `{"code":"BAD-CODE-` + string(rune('A'+i)) + `","name":"phone"}`,
			header: http.Header{"Idempotency-Key": {"key-" + string(rune('a'+i))}}})
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("bad code: %d %s", w.Code, w.Body)
		}
	}
	if n := idem.len(); n != 0 {
		t.Fatalf("20 failed registrations left %d idempotency records, want 0", n)
	}
	body := `{"code":"GOOD-CODE","name":"phone"}`
	h := http.Header{"Idempotency-Key": {"good"}}
	w1 := do(t, s, req{method: "POST", path: "/api/v1/device/register", body: body, header: h})
	w2 := do(t, s, req{method: "POST", path: "/api/v1/device/register", body: body, header: h})
	if w1.Code != http.StatusCreated || w2.Code != http.StatusCreated || w2.Header().Get("Idempotent-Replayed") != "true" || w1.Body.String() != w2.Body.String() {
		t.Fatalf("redeemed code: %d then %d (replayed %q)", w1.Code, w2.Code, w2.Header().Get("Idempotent-Replayed"))
	}
	if n := idem.len(); n != 1 {
		t.Fatalf("%d idempotency records after one registration, want 1", n)
	}
	if len(clients) != 21 || clients[0] != "192.0.2.1" {
		t.Errorf("the manager saw client addresses %q, want 192.0.2.1 (the test peer)", clients)
	}

	// Authenticated callers keep their failures: a retry gets the same answer.
	svc.CreateInvitationFn = func(context.Context, string, time.Duration) (*passkeyd.Invitation, passkeyd.Secret, error) {
		return nil, "", passkeyd.Errorf(passkeyd.EConflict, "no")
	}
	w := do(t, s, req{method: "POST", path: "/api/v1/users/" + userID + "/invitations", body: `{}`,
		token: roleTokens()[passkeyd.RoleAdmin], header: http.Header{"Idempotency-Key": {"inv"}}})
	if w.Code != http.StatusConflict || idem.len() != 2 {
		t.Fatalf("admin failure: %d, %d records; want 409 and its record kept", w.Code, idem.len())
	}
}
