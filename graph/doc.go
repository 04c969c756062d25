// Package graph is passkeyd's client of the Microsoft identity platform and
// Microsoft Graph: it acquires app-only tokens (azidentity) with a client
// secret or a certificate-signed client assertion, makes the five
// fido2Methods calls of graph-api.md §4 and the optional FIDO2 policy
// preflight (§4.5), speaking exactly Microsoft's wire format, and maps
// every failure into a *passkeyd.GraphError that an admin can act on and
// the job queue can classify.
//
// Nothing here retries on its own beyond what is safe: a GET or DELETE is
// tried again once after a connection error, any call once after a 401
// with a fresh token, and a create never after a timeout. Throttling and
// backoff belong to the caller, which gets Temporary errors with the
// server's Retry-After.
package graph
