package server

import (
	"net/http"
	"slices"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
)

// maxBearerLength bounds a bearer token; real ones are far shorter.
const maxBearerLength = 512

// wwwAuthenticate is the challenge of every 401.
const wwwAuthenticate = `Bearer realm="passkeyd"`

// bearer returns the token of r's Authorization header. Errors are
// EUnauthorized and set the WWW-Authenticate challenge on w.
func bearer(w http.ResponseWriter, r *http.Request) (passkeyd.Secret, error) {
	vals := r.Header.Values("Authorization")
	var msg string
	switch {
	case len(vals) == 0:
		msg = "the Authorization header is missing; send Authorization: Bearer <token>"
	case len(vals) > 1:
		msg = "more than one Authorization header"
	default:
		scheme, tok, ok := strings.Cut(vals[0], " ")
		tok = strings.TrimLeft(tok, " ")
		switch {
		case !ok || !strings.EqualFold(scheme, "Bearer"):
			msg = "the Authorization header must use the Bearer scheme"
		case tok == "" || len(tok) > maxBearerLength || !isToken68(tok):
			w.Header().Set("WWW-Authenticate", wwwAuthenticate+`, error="invalid_request"`)
			return "", passkeyd.Errorf(passkeyd.EUnauthorized, "the bearer token is malformed")
		default:
			return passkeyd.Secret(tok), nil
		}
	}
	w.Header().Set("WWW-Authenticate", wwwAuthenticate)
	return "", passkeyd.Errorf(passkeyd.EUnauthorized, "%s", msg)
}

// isToken68 reports whether s has the syntax of RFC 6750's b64token.
func isToken68(s string) bool {
	end := len(strings.TrimRight(s, "="))
	if end == 0 {
		return false
	}
	for i := 0; i < end; i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~+/", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// rejected turns an authentication failure into the error to answer: a
// token the service does not know (or knows only as expired, removed, …)
// is a 401 whatever code the service used, so that no status tells a
// prober more; other failures (database down) pass through.
func rejected(w http.ResponseWriter, err error, what string) error {
	switch passkeyd.ErrorCodeOf(err) {
	case passkeyd.EUnauthorized, passkeyd.ENotFound, passkeyd.EGone, passkeyd.EForbidden, passkeyd.EInvalid:
		w.Header().Set("WWW-Authenticate", wwwAuthenticate+`, error="invalid_token"`)
		return passkeyd.WrapError(passkeyd.EUnauthorized, err, "the %s is invalid, expired or revoked", what)
	}
	return err
}

// adminAuth authenticates an API token and checks its role against roles.
// An empty roles denies everyone: routes are closed unless declared.
func (s *Server) adminAuth(roles []passkeyd.Role, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, err := bearer(w, r)
		if err != nil {
			return err
		}
		t, err := s.svc.AuthenticateToken(r.Context(), tok)
		if err != nil {
			return rejected(w, err, "API token")
		}
		// Belt and braces: the service checks expiry too, but a token
		// must never outlive its expiry because of a bug there.
		if t == nil || (t.ExpiresAt != nil && !s.now().Before(*t.ExpiresAt)) {
			return rejected(w, passkeyd.Errorf(passkeyd.EUnauthorized, "token expired"), "API token")
		}
		actor := passkeyd.Actor{Kind: "token", ID: t.ID, Role: t.Role}
		infoFrom(r.Context()).actor = actor
		r = r.WithContext(passkeyd.WithActor(r.Context(), actor))
		if !slices.Contains(roles, t.Role) {
			return passkeyd.Errorf(passkeyd.EForbidden, "the %s role may not call this route", t.Role)
		}
		return h(w, r)
	}
}

// deviceHandler is a handler of the device API, given the authenticated
// device.
type deviceHandler func(w http.ResponseWriter, r *http.Request, d *passkeyd.Device) error

// deviceAuth authenticates a device token.
func (s *Server) deviceAuth(h deviceHandler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, err := bearer(w, r)
		if err != nil {
			return err
		}
		d, err := s.svc.AuthenticateDevice(r.Context(), tok)
		if err != nil {
			return rejected(w, err, "device token")
		}
		if d == nil || d.State != passkeyd.DeviceActive {
			return rejected(w, passkeyd.Errorf(passkeyd.EUnauthorized, "device not active"), "device token")
		}
		actor := passkeyd.Actor{Kind: "device", ID: d.ID}
		infoFrom(r.Context()).actor = actor
		r = r.WithContext(passkeyd.WithDevice(passkeyd.WithActor(r.Context(), actor), d))
		return h(w, r, d)
	}
}
