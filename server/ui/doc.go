// Package ui is passkeyd's admin web console: server-rendered HTML pages
// over passkeyd.Service, signed in with passkeyd.AdminAuthService.
//
// It is an http.Handler of its own, mounted at /ui/, separate from the
// JSON API: browser concerns (sessions in __Host- cookies, cross-origin
// request protection, a strict Content-Security-Policy) stay here. The
// pages use no JavaScript at all, so the CSP forbids every script; state
// changes are POSTed forms, never GETs. Each route declares the roles that
// may use it (Permissions) and undeclared routes deny everyone.
package ui
