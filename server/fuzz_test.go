package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

// FuzzReadJSON checks that no body makes the decoder panic and that every
// rejection is one of the input error codes.
func FuzzReadJSON(f *testing.F) {
	for _, seed := range []string{
		`{"upn":"a@contoso.com"}`, `{"upn":1}`, `{"x":1}`, `{}{}`, `[`, ``, " ", `{"upn":"\u0000"}`, `null`, `{"upn":"a"}x`,
	} {
		f.Add(seed, "application/json")
	}
	f.Add(`{}`, "text/plain")
	f.Fuzz(func(t *testing.T, body, ct string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		var dst struct {
			UPN string `json:"upn"`
		}
		_, err := readJSON(httptest.NewRecorder(), r, &dst, 1024, false)
		if err == nil {
			return
		}
		switch code := passkeyd.ErrorCodeOf(err); code {
		case passkeyd.EInvalid, passkeyd.ETooLarge, passkeyd.EUnsupportedMedia:
		default:
			t.Fatalf("body %q: code %q: %v", body, code, err)
		}
		if !passkeyd.Printable(passkeyd.ErrorMessage(err)) {
			t.Fatalf("message not printable: %q", passkeyd.ErrorMessage(err))
		}
	})
}

// FuzzBearer checks that the Authorization parser never panics, accepts
// only token68 values and always sets a challenge when it refuses.
func FuzzBearer(f *testing.F) {
	for _, seed := range []string{"Bearer abc", "bearer abc==", "Bearer ", "Basic abc", "Bearer a b", "Bearer =", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{h}
		w := httptest.NewRecorder()
		tok, err := bearer(w, r)
		if err != nil {
			if passkeyd.ErrorCodeOf(err) != passkeyd.EUnauthorized || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%q: %v, challenge %q", h, err, w.Header().Get("WWW-Authenticate"))
			}
			return
		}
		if !isToken68(tok.Reveal()) || len(tok.Reveal()) > maxBearerLength || !strings.HasSuffix(h, tok.Reveal()) {
			t.Fatalf("%q accepted as %q", h, tok.Reveal())
		}
	})
}

func TestRemovedDeviceIsRejected(t *testing.T) {
	// Belt and braces against a service that returns a removed device.
	svc := newFake()
	svc.AuthenticateDeviceFn = func(context.Context, passkeyd.Secret) (*passkeyd.Device, error) {
		return &passkeyd.Device{ID: deviceID, State: passkeyd.DeviceRemoved}, nil
	}
	s, _ := newServer(t, svc, nil)
	w := do(t, s, req{method: "GET", path: "/api/v1/device/status", token: deviceToken})
	if w.Code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", w.Code)
	}
	if calls := callsBeyondAuth(svc); len(calls) != 0 {
		t.Errorf("service called: %v", calls)
	}
}

func TestCleanPathRedirectIsKept(t *testing.T) {
	s, _ := newServer(t, newFake(), nil)
	w := do(t, s, req{method: "GET", path: "/api/v1//users", token: roleTokens()[passkeyd.RoleAdmin]})
	if w.Code != http.StatusTemporaryRedirect || w.Header().Get("Location") != "/api/v1/users" {
		t.Errorf("status %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	if w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("redirect lacks security headers")
	}
}
