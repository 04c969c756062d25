package server

import (
	"net/http"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/api"
)

// Auth says how a route authenticates its caller.
type Auth string

// Authentication kinds.
const (
	AuthNone   Auth = "none"   // health endpoints, the OpenAPI document, device registration
	AuthAdmin  Auth = "admin"  // API token, role-checked
	AuthDevice Auth = "device" // device token
)

// Route is one registered route.
type Route struct {
	// Pattern is the http.ServeMux pattern, e.g. "GET /api/v1/users/{id}".
	Pattern string
	Auth    Auth
	// Roles may call an admin route; nil for an undeclared admin route,
	// which then denies everyone.
	Roles []passkeyd.Role
}

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Permissions returns the declared permission table of the admin API:
// route pattern → roles allowed. Every admin route must have an entry;
// one without denies everyone.
//
// admin may do everything; operator reads everything (token metadata
// included, never values) and manages users, invitations and devices, but
// may not change the connector, policies or tokens; auditor only reads.
func Permissions() map[string][]passkeyd.Role {
	all := []passkeyd.Role{passkeyd.RoleAdmin, passkeyd.RoleOperator, passkeyd.RoleAuditor}
	ops := []passkeyd.Role{passkeyd.RoleAdmin, passkeyd.RoleOperator}
	admin := []passkeyd.Role{passkeyd.RoleAdmin}
	p := api.Prefix
	return map[string][]passkeyd.Role{
		"GET " + p + "/connectors/{id}":       all,
		"PUT " + p + "/connectors/{id}":       admin,
		"POST " + p + "/connectors/{id}/test": admin,
		// Validate Certificate receives private keys: admins only.
		"POST " + p + "/connectors/{id}/validate-certificate": admin,

		"GET " + p + "/policies":      all,
		"GET " + p + "/policies/{id}": all,
		"PUT " + p + "/policies/{id}": admin,
		"POST " + p + "/policies":     admin,

		"GET " + p + "/users":                   all,
		"POST " + p + "/users":                  ops,
		"GET " + p + "/users/{id}":              all,
		"PUT " + p + "/users/{id}":              ops,
		"POST " + p + "/users/{id}/invitations": ops,
		"POST " + p + "/users/{id}/offboard":    ops,

		"GET " + p + "/devices":         all,
		"GET " + p + "/devices/{id}":    all,
		"DELETE " + p + "/devices/{id}": ops,

		"GET " + p + "/passkeys":              all,
		"GET " + p + "/passkeys/{id}":         all,
		"POST " + p + "/passkeys/{id}/revoke": ops,
		"POST " + p + "/passkeys:revoke":      ops,
		"POST " + p + "/reconcile":            ops,

		"GET " + p + "/audit":        all,
		"GET " + p + "/audit/verify": all,
		"GET " + p + "/audit/export": all,

		"GET " + p + "/tokens":         all,
		"POST " + p + "/tokens":        admin,
		"DELETE " + p + "/tokens/{id}": admin,
	}
}

// registerRoutes registers every route on mux.
func (s *Server) registerRoutes(mux *http.ServeMux) {
	perms := Permissions()
	adm := func(pattern string, h handlerFunc) {
		pattern = methodPath(pattern)
		roles := perms[pattern] // nil when undeclared: adminAuth denies all
		s.routes = append(s.routes, Route{Pattern: pattern, Auth: AuthAdmin, Roles: roles})
		if !strings.HasPrefix(pattern, "GET ") {
			h = s.idempotent(h)
		}
		mux.Handle(pattern, s.serve(s.adminAuth(roles, h)))
	}
	dev := func(pattern string, h deviceHandler) {
		pattern = methodPath(pattern)
		s.routes = append(s.routes, Route{Pattern: pattern, Auth: AuthDevice})
		if !strings.HasPrefix(pattern, "GET ") {
			h = s.idempotentDevice(h)
		}
		mux.Handle(pattern, s.serve(s.deviceAuth(h)))
	}
	open := func(pattern string, h handlerFunc) {
		s.routes = append(s.routes, Route{Pattern: pattern, Auth: AuthNone})
		mux.Handle(pattern, s.serve(h))
	}

	adm("GET /connectors/{id}", s.getConnector)
	adm("PUT /connectors/{id}", s.putConnector)
	adm("POST /connectors/{id}/test", s.testConnector)
	adm("POST /connectors/{id}/validate-certificate", s.validateCertificate)

	adm("GET /policies", s.listPolicies)
	adm("GET /policies/{id}", s.getPolicy)
	adm("PUT /policies/{id}", s.putPolicy)
	adm("POST /policies", s.createPolicy)

	adm("GET /users", s.listUsers)
	adm("POST /users", s.createUser)
	adm("GET /users/{id}", s.getUser)
	adm("PUT /users/{id}", s.updateUser)
	adm("POST /users/{id}/invitations", s.createInvitation)
	adm("POST /users/{id}/offboard", s.offboardUser)

	adm("GET /devices", s.listDevices)
	adm("GET /devices/{id}", s.getDevice)
	adm("DELETE /devices/{id}", s.removeDevice)

	adm("GET /passkeys", s.listPasskeys)
	adm("GET /passkeys/{id}", s.getPasskey)
	adm("POST /passkeys/{id}/revoke", s.revokePasskey)
	adm("POST /passkeys:revoke", s.revokePasskeys)
	adm("POST /reconcile", s.reconcile)

	adm("GET /audit", s.listAudit)
	adm("GET /audit/verify", s.verifyAudit)
	adm("GET /audit/export", s.exportAudit)

	adm("GET /tokens", s.listTokens)
	adm("POST /tokens", s.createToken)
	adm("DELETE /tokens/{id}", s.deleteToken)

	open(methodPath("POST /device/register"), s.idempotent(s.registerDevice))
	dev("GET /device/status", s.deviceStatus)
	dev("POST /device/passkeys/options", s.beginEnrollment)
	dev("POST /device/passkeys", s.finishEnrollment)
	dev("POST /device/passkeys/skip", s.skipEnrollment)
	dev("DELETE /device", s.unregisterDevice)

	// The API's own description is public, like the health endpoints:
	// it holds nothing a caller could not learn from the API itself.
	open(methodPath("GET /openapi.json"), s.openAPI)

	open("GET /healthz", s.healthz)
	open("GET /readyz", s.readyz)
	open("GET /metrics", s.metrics)
}

// methodPath prefixes the path of "METHOD /path" with api.Prefix.
func methodPath(p string) string {
	method, path, _ := strings.Cut(p, " ")
	return method + " " + api.Prefix + path
}

// serve adapts h to http.Handler, answering its error as a problem.
func (s *Server) serve(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}
