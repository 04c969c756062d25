// Package server is the HTTP layer of passkeyd: the admin JSON API, the
// device API and the health endpoints, in front of a passkeyd.Service.
//
// It authenticates callers (API tokens for the admin API, device tokens for
// the device API), checks every admin route against a declared permission
// table (deny by default), validates every input before the service sees
// it, and answers errors as RFC 9457 problem details. The wire format lives
// in package server/api, shared with the Go client.
//
// The caller owns the http.Server and must bound it, since this package
// cannot: set at least ReadHeaderTimeout (e.g. 10s), ReadTimeout (e.g.
// 30s, enough for a 512 KiB attestation on a slow link), WriteTimeout
// (e.g. 60s: Test Connection calls Microsoft), IdleTimeout (e.g. 120s) and
// MaxHeaderBytes (e.g. 64 KiB). Request bodies are bounded here
// (Config.MaxBodyBytes).
package server
