package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	passkeyd "github.com/passkeyd/passkeyd"
)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		incoming string
		keep     bool
	}{
		{"valid is kept", "req-42.a_b:c", true},
		{"too long is replaced", strings.Repeat("a", 65), false},
		{"unsafe is replaced", "abc\"<script>", false},
		{"spaces are replaced", "a b", false},
		{"absent is generated", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen string
			svc := newFake()
			svc.DeviceStatusFn = func(ctx context.Context, _ string) (*passkeyd.DeviceStatus, error) {
				seen = passkeyd.RequestIDFrom(ctx)
				return &passkeyd.DeviceStatus{}, nil
			}
			s, _ := newServer(t, svc, nil)
			h := http.Header{}
			if tt.incoming != "" {
				h.Set("X-Request-ID", tt.incoming)
			}
			w := do(t, s, req{method: "GET", path: "/api/v1/device/status", token: deviceToken, header: h})
			got := w.Header().Get("X-Request-ID")
			if tt.keep && got != tt.incoming {
				t.Errorf("X-Request-ID %q, want %q", got, tt.incoming)
			}
			if !tt.keep {
				if _, err := uuid.Parse(got); err != nil {
					t.Errorf("generated X-Request-ID %q is not a UUID", got)
				}
			}
			if seen != got {
				t.Errorf("service saw request ID %q, response has %q", seen, got)
			}
		})
	}
}

func TestActorInContext(t *testing.T) {
	var admin, device passkeyd.Actor
	svc := newFake()
	svc.UsersFn = func(ctx context.Context, _ passkeyd.UserFilter) ([]passkeyd.User, error) {
		admin = passkeyd.ActorFrom(ctx)
		return nil, nil
	}
	svc.SkipEnrollmentFn = func(ctx context.Context, id string) error {
		device = passkeyd.ActorFrom(ctx)
		if id != deviceID {
			t.Errorf("SkipEnrollment for %q, want the caller %q", id, deviceID)
		}
		return nil
	}
	s, _ := newServer(t, svc, nil)
	do(t, s, req{method: "GET", path: "/api/v1/users", token: roleTokens()[passkeyd.RoleOperator]})
	if w := do(t, s, req{method: "POST", path: "/api/v1/device/passkeys/skip", token: deviceToken}); w.Code != http.StatusNoContent {
		t.Errorf("skip: status %d", w.Code)
	}
	if want := (passkeyd.Actor{Kind: "token", ID: tokenID, Role: passkeyd.RoleOperator}); admin != want {
		t.Errorf("admin actor %+v, want %+v", admin, want)
	}
	if want := (passkeyd.Actor{Kind: "device", ID: deviceID}); device != want {
		t.Errorf("device actor %+v, want %+v", device, want)
	}
}

func TestRequestLog(t *testing.T) {
	s, logs := newServer(t, newFake(), nil)
	secretBody := `{"code":"INVITE-CODE-SECRET","name":"phone"}`
	do(t, s, req{method: "POST", path: "/api/v1/device/register", body: secretBody})
	do(t, s, req{method: "GET", path: "/api/v1/users/" + userID, token: roleTokens()[passkeyd.RoleAdmin],
		header: http.Header{"X-Request-Id": {"rid-1"}}})
	do(t, s, req{method: "GET", path: "/api/v1/nope", token: roleTokens()[passkeyd.RoleAdmin]})

	out := logs.String()
	for _, secret := range []string{"INVITE-CODE-SECRET", roleTokens()[passkeyd.RoleAdmin], deviceToken, "Authorization"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["msg"] == "http request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("%d request lines, want 3:\n%s", len(lines), out)
	}
	want := []map[string]any{
		{"method": "POST", "route": "POST /api/v1/device/register", "status": float64(201), "actor": "anonymous"},
		{"method": "GET", "route": "GET /api/v1/users/{id}", "status": float64(200), "actor": "token:" + tokenID, "request_id": "rid-1"},
		{"method": "GET", "route": "unmatched", "status": float64(404)},
	}
	for i, w := range want {
		for k, v := range w {
			if lines[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, lines[i][k], v)
			}
		}
		if _, ok := lines[i]["duration"]; !ok {
			t.Errorf("line %d has no duration", i)
		}
	}
}
