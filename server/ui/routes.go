package ui

import (
	"fmt"
	"net/http"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server"
)

// Public lists the routes that need no session: the sign-in form and the
// stylesheet. Every other route needs a session and a declared role.
func Public() []string {
	return []string{
		"GET /ui",
		"GET /ui/login",
		"POST /ui/login",
		"GET /ui/static/style.css",
	}
}

// Permissions returns the declared permission table of the UI: route
// pattern → roles allowed. It mirrors the API's: admin may do everything;
// operator reads everything and manages users, invitations, devices,
// passkeys, revocations and reconciliation; auditor only reads. A route
// without an entry denies everyone.
func Permissions() map[string][]passkeyd.Role {
	all := []passkeyd.Role{passkeyd.RoleAdmin, passkeyd.RoleOperator, passkeyd.RoleAuditor}
	ops := []passkeyd.Role{passkeyd.RoleAdmin, passkeyd.RoleOperator}
	admin := []passkeyd.Role{passkeyd.RoleAdmin}
	return map[string][]passkeyd.Role{
		"GET /ui/{$}":     all,
		"POST /ui/logout": all,

		"GET /ui/connector":  all,
		"POST /ui/connector": admin,
		// Validate Certificate receives private keys, Test Connection
		// calls Entra: admins only, as in the API.
		"POST /ui/connector/validate-certificate": admin,
		"POST /ui/connector/test":                 admin,

		"GET /ui/policies":       all,
		"GET /ui/policies/{id}":  all,
		"POST /ui/policies/{id}": admin,
		"POST /ui/policies":      admin,

		"GET /ui/users":                   all,
		"POST /ui/users":                  ops,
		"GET /ui/users/{id}":              all,
		"POST /ui/users/{id}/invitations": ops,
		"POST /ui/users/{id}/policy":      ops,
		"GET /ui/users/{id}/offboard":     ops,
		"POST /ui/users/{id}/offboard":    ops,

		"GET /ui/devices":              all,
		"GET /ui/devices/{id}":         all,
		"GET /ui/devices/{id}/remove":  ops,
		"POST /ui/devices/{id}/remove": ops,

		"GET /ui/passkeys":              all,
		"POST /ui/passkeys/{id}/revoke": ops,

		"GET /ui/jobs":       all,
		"POST /ui/reconcile": ops,

		"GET /ui/audit":        all,
		"GET /ui/audit/verify": all,

		"GET /ui/tokens":              all,
		"POST /ui/tokens":             admin,
		"POST /ui/tokens/{id}/delete": admin,
	}
}

// pageFunc is a handler of a signed-in page; it returns its error instead
// of writing it, and receives the session's view.
type pageFunc func(w http.ResponseWriter, r *http.Request, v *view) error

// registerRoutes registers every route on mux.
func (u *UI) registerRoutes(mux *http.ServeMux) error {
	page := func(pattern string, h pageFunc) {
		u.routes = append(u.routes, pattern)
		mux.Handle(pattern, logRoute(pattern, u.signedIn(pattern, u.perms[pattern], h)))
	}
	open := func(pattern string, h http.HandlerFunc) {
		u.routes = append(u.routes, pattern)
		mux.Handle(pattern, logRoute(pattern, h))
	}

	open("GET /ui", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
	})
	open("GET /ui/login", u.loginForm)
	open("POST /ui/login", u.login)
	open("GET /ui/static/style.css", serveCSS)

	page("GET /ui/{$}", u.dashboard)
	page("POST /ui/logout", u.logout)

	page("GET /ui/connector", u.connectorPage)
	page("POST /ui/connector", u.saveConnector)
	page("POST /ui/connector/validate-certificate", u.validateCertificate)
	page("POST /ui/connector/test", u.testConnection)

	page("GET /ui/policies", u.policiesPage)
	page("GET /ui/policies/{id}", u.policyPage)
	page("POST /ui/policies/{id}", u.savePolicy)
	page("POST /ui/policies", u.createPolicy)

	page("GET /ui/users", u.usersPage)
	page("POST /ui/users", u.createUser)
	page("GET /ui/users/{id}", u.userPage)
	page("POST /ui/users/{id}/invitations", u.invite)
	page("POST /ui/users/{id}/policy", u.assignPolicy)
	page("GET /ui/users/{id}/offboard", u.offboardConfirm)
	page("POST /ui/users/{id}/offboard", u.offboard)

	page("GET /ui/devices", u.devicesPage)
	page("GET /ui/devices/{id}", u.devicePage)
	page("GET /ui/devices/{id}/remove", u.removeDeviceConfirm)
	page("POST /ui/devices/{id}/remove", u.removeDevice)

	page("GET /ui/passkeys", u.passkeysPage)
	page("POST /ui/passkeys/{id}/revoke", u.revokePasskey)

	page("GET /ui/jobs", u.jobsPage)
	page("POST /ui/reconcile", u.reconcile)

	page("GET /ui/audit", u.auditPage)
	page("GET /ui/audit/verify", u.verifyAudit)

	page("GET /ui/tokens", u.tokensPage)
	page("POST /ui/tokens", u.createToken)
	page("POST /ui/tokens/{id}/delete", u.deleteToken)

	// A declared permission without a route is a typo in one of the two
	// lists; refuse to start rather than guess.
	registered := make(map[string]bool, len(u.routes))
	for _, p := range u.routes {
		registered[p] = true
	}
	for p := range u.perms {
		if !registered[p] {
			return fmt.Errorf("ui: permission declared for unknown route %q", p)
		}
	}
	return nil
}

// logRoute tells the server's request log which route served the request.
func logRoute(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server.LogRoute(r.Context(), pattern)
		h.ServeHTTP(w, r)
	})
}
