package server

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

// validBodies are bodies that pass validation, per admin route, so that an
// allowed call reaches the service.
func validBodies() map[string]string {
	return map[string]string{
		"PUT /api/v1/connectors/{id}":  `{"cloud":"global","tenant_id":"contoso.onmicrosoft.com","client_id":"` + tokenID + `","client_secret":"s3cr3t-value","challenge_timeout_minutes":5}`,
		"PUT /api/v1/policies/{id}":    `{"name":"Default","entra_passkey":"required","max_passkeys_per_user":2}`,
		"POST /api/v1/users":           `{"upn":"bob@contoso.com"}`,
		"POST /api/v1/tokens":          `{"name":"ci","role":"auditor"}`,
		"POST /api/v1/passkeys:revoke": `{"user_id":"` + userID + `"}`,
		"POST /api/v1/reconcile":       `{"user_id":"` + userID + `"}`,
		"POST /api/v1/policies":        `{"name":"Finance","entra_passkey":"required","max_passkeys_per_user":1}`,
		"PUT /api/v1/users/{id}":       `{"display_name":"Bob","policy_id":"default"}`,
	}
}

// concretePath fills a route pattern's {id} with a plausible value.
func concretePath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	id := userID
	if strings.Contains(path, "/connectors/") || strings.Contains(path, "/policies/") {
		id = "default"
	}
	return method, strings.ReplaceAll(path, "{id}", id)
}

func TestEveryAdminRouteIsDeclared(t *testing.T) {
	s, _ := newServer(t, newFake(), nil)
	perms := Permissions()
	registered := map[string]bool{}
	for _, r := range s.Routes() {
		if r.Auth != AuthAdmin {
			continue
		}
		registered[r.Pattern] = true
		if len(r.Roles) == 0 {
			t.Errorf("admin route %q is registered without a permission declaration", r.Pattern)
		}
	}
	for pattern := range perms {
		if !registered[pattern] {
			t.Errorf("permission declared for %q, which is not registered", pattern)
		}
	}
}

// TestRouteRoleMatrix calls every admin route with no token and with each
// role, and checks the outcome against the permission table.
func TestRouteRoleMatrix(t *testing.T) {
	perms := Permissions()
	bodies := validBodies()
	svc := newFake()
	s, _ := newServer(t, svc, nil)
	for _, r := range s.Routes() {
		if r.Auth != AuthAdmin {
			continue
		}
		method, path := concretePath(r.Pattern)
		t.Run(r.Pattern+"/anonymous", func(t *testing.T) {
			svc.ResetCalls()
			w := do(t, s, req{method: method, path: path, body: bodies[r.Pattern]})
			if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("status %d, WWW-Authenticate %q; want 401 with a Bearer challenge", w.Code, w.Header().Get("WWW-Authenticate"))
			}
			problemOf(t, w)
			if calls := svc.Calls(); len(calls) != 0 {
				t.Errorf("service called without a token: %v", calls)
			}
		})
		for role, tok := range roleTokens() {
			t.Run(r.Pattern+"/"+string(role), func(t *testing.T) {
				svc.ResetCalls()
				w := do(t, s, req{method: method, path: path, token: tok, body: bodies[r.Pattern]})
				allowed := slices.Contains(perms[r.Pattern], role)
				switch {
				case allowed && (w.Code < 200 || w.Code > 299):
					t.Fatalf("allowed role got %d: %s", w.Code, w.Body)
				case allowed && len(callsBeyondAuth(svc)) == 0:
					t.Fatalf("allowed role did not reach the service")
				case !allowed && w.Code != http.StatusForbidden:
					t.Fatalf("denied role got %d, want 403: %s", w.Code, w.Body)
				case !allowed:
					if p := problemOf(t, w); p.Code != passkeyd.EForbidden {
						t.Errorf("code %q, want forbidden", p.Code)
					}
					if calls := callsBeyondAuth(svc); len(calls) != 0 {
						t.Errorf("denied role reached the service: %v", calls)
					}
				}
			})
		}
	}
}

func TestUndeclaredRoleListDeniesEveryone(t *testing.T) {
	s, _ := newServer(t, newFake(), nil)
	h := s.serve(s.adminAuth(nil, func(w http.ResponseWriter, r *http.Request) error {
		t.Error("handler reached")
		return nil
	}))
	for role, tok := range roleTokens() {
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", role, w.Code)
		}
	}
}

func TestTokenKindsDoNotCross(t *testing.T) {
	svc := newFake()
	s, _ := newServer(t, svc, nil)
	tests := []struct {
		name         string
		method, path string
		token        string
	}{
		{"API token on device API", "GET", "/api/v1/device/status", roleTokens()[passkeyd.RoleAdmin]},
		{"API token on device removal", "DELETE", "/api/v1/device", roleTokens()[passkeyd.RoleAdmin]},
		{"device token on admin API", "GET", "/api/v1/devices", deviceToken},
		{"no token on device API", "GET", "/api/v1/device/status", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc.ResetCalls()
			w := do(t, s, req{method: tt.method, path: tt.path, token: tt.token})
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", w.Code, w.Body)
			}
			if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
			}
			if p := problemOf(t, w); p.Code != passkeyd.EUnauthorized {
				t.Errorf("code %q", p.Code)
			}
			if calls := callsBeyondAuth(svc); len(calls) != 0 {
				t.Errorf("service called: %v", calls)
			}
		})
	}
}
