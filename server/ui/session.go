package ui

import (
	"net/http"
	"slices"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server"
)

// Session cookie names. Browsers accept a __Host- cookie only when it is
// Secure, has Path=/ and no Domain: it cannot be set by a sibling domain
// or over plain HTTP.
const (
	sessionCookie         = "__Host-passkeyd_session"
	insecureSessionCookie = "passkeyd_session"
)

// Input limits of the sign-in form.
const (
	maxUsernameLength = 256
	maxPasswordLength = 1024
	maxCookieLength   = 512
)

func (u *UI) cookieName() string {
	if u.insecure {
		return insecureSessionCookie
	}
	return sessionCookie
}

// sessionToken returns the session token of r's cookie, or "" when there
// is none or it cannot be a token.
func (u *UI) sessionToken(r *http.Request) passkeyd.Secret {
	c, err := r.Cookie(u.cookieName())
	if err != nil || c.Value == "" || len(c.Value) > maxCookieLength || !tokenChars(c.Value) {
		return ""
	}
	return passkeyd.Secret(c.Value)
}

// tokenChars reports whether s holds only URL-safe token characters.
func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~+/=", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// setSession sets (or, with tok "", clears) the session cookie.
func (u *UI) setSession(w http.ResponseWriter, tok passkeyd.Secret, s *passkeyd.Session) {
	c := &http.Cookie{
		Name:     u.cookieName(),
		Value:    tok.Reveal(),
		Path:     "/",
		Secure:   !u.insecure,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	}
	switch {
	case tok == "":
		c.MaxAge = -1
	case s != nil && !s.ExpiresAt.IsZero():
		c.Expires = s.ExpiresAt
	}
	http.SetCookie(w, c)
}

// signedIn authenticates the session, checks the admin's role against
// roles and runs h with the admin as the context's actor. An empty roles
// denies everyone: routes are closed unless declared.
func (u *UI) signedIn(pattern string, roles []passkeyd.Role, h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := u.sessionToken(r)
		if tok == "" {
			http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
			return
		}
		admin, _, err := u.auth.SessionAdmin(r.Context(), tok)
		if err != nil || admin == nil || admin.DisabledAt != nil {
			if err != nil && passkeyd.ErrorCodeOf(err) != passkeyd.EUnauthorized && passkeyd.ErrorCodeOf(err) != passkeyd.ENotFound {
				// The store failed: say so rather than pretend the
				// session ended.
				u.renderError(w, r, nil, err)
				return
			}
			u.setSession(w, "", nil)
			http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
			return
		}
		v := &view{Admin: admin, perms: u.perms}
		if !slices.Contains(roles, admin.Role) {
			u.renderError(w, r, v, passkeyd.Errorf(passkeyd.EForbidden, "the %s role may not use this page", admin.Role))
			return
		}
		actor := passkeyd.Actor{Kind: "admin", ID: admin.ID, Role: admin.Role}
		server.LogActor(r.Context(), actor)
		r = r.WithContext(passkeyd.WithActor(r.Context(), actor))
		if err := h(w, r, v); err != nil {
			u.renderError(w, r, v, err)
		}
	})
}

// loginData is the Data of the sign-in page.
type loginData struct {
	Username   string
	RetryAfter int
}

func (u *UI) loginForm(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "login", &view{Title: "Sign in", Data: loginData{}})
}

// login checks the credentials and opens a new session. A session the
// browser already had is ended first: a fresh token at every sign-in
// defeats session fixation.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	v := &view{Title: "Sign in"}
	if err := parseForm(w, r, maxFormBytes); err != nil {
		u.renderError(w, r, v, err)
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	d := loginData{Username: username}
	var fe passkeyd.FieldErrors
	if username == "" || len(username) > maxUsernameLength || !passkeyd.Printable(username) {
		fe.Add("username", "enter your username (at most 256 printable characters)")
		d.Username = ""
	}
	if password == "" || len(password) > maxPasswordLength {
		fe.Add("password", "enter your password (at most 1024 bytes)")
	}
	if len(fe) > 0 {
		v.Error, v.Fields, v.Data = "Check the highlighted fields.", fe, d
		u.render(w, r, http.StatusBadRequest, "login", v)
		return
	}
	if old := u.sessionToken(r); old != "" {
		if err := u.auth.Logout(r.Context(), old); err != nil && passkeyd.ErrorCodeOf(err) != passkeyd.EUnauthorized {
			u.log.WarnContext(r.Context(), "ui: ending the previous session failed", "err", err)
		}
	}
	admin, sess, tok, err := u.auth.Login(r.Context(), username, passkeyd.Secret(password))
	switch code := passkeyd.ErrorCodeOf(err); {
	case err == nil:
		if admin != nil {
			server.LogActor(r.Context(), passkeyd.Actor{Kind: "admin", ID: admin.ID, Role: admin.Role})
		}
		u.setSession(w, tok, sess)
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
	case code == passkeyd.ERateLimited:
		d.RetryAfter = retryAfterSeconds(err)
		w.Header().Set("Retry-After", itoa(d.RetryAfter))
		v.Error, v.Data = "Too many failed sign-ins for this account. Try again later.", d
		u.render(w, r, http.StatusTooManyRequests, "login", v)
	case code == passkeyd.EUnauthorized || code == passkeyd.ENotFound || code == passkeyd.EForbidden:
		// One message for every kind of refusal: no hint whether the
		// account exists or is disabled.
		v.Error, v.Data = "Wrong username or password.", d
		u.render(w, r, http.StatusUnauthorized, "login", v)
	default:
		u.renderError(w, r, v, err)
	}
}

// logout ends the session and clears the cookie.
func (u *UI) logout(w http.ResponseWriter, r *http.Request, _ *view) error {
	if tok := u.sessionToken(r); tok != "" {
		if err := u.auth.Logout(r.Context(), tok); err != nil && passkeyd.ErrorCodeOf(err) != passkeyd.EUnauthorized {
			return err
		}
	}
	u.setSession(w, "", nil)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
	return nil
}
