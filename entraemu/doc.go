// Package entraemu emulates the parts of Microsoft Entra ID and Microsoft
// Graph that passkeyd speaks (docs: /work/shared/graph-api.md): the identity
// platform's OpenID discovery, JWKS and client-credentials token endpoint,
// and Graph's /users/{user}/authentication/fido2Methods calls, with real
// WebAuthn verification, in-memory state, fault knobs and inspection
// helpers.
//
// An *Emulator is an http.Handler: mount it in httptest, or call Start to
// serve HTTPS with a freshly generated CA (URL, CACertPEM, WriteCAFile).
// One URL serves both roles: the authority host and the Graph base URL;
// the first path segment tells them apart ("v1.0" and "beta" are Graph,
// anything else is a tenant of the identity platform).
//
// Beyond Microsoft's API the emulator serves a passkey sign-in ceremony
// (POST /{tenant}/passkey/signin/begin and /finish) so a demo can prove a
// registered passkey works. It is not a Microsoft API; see README.md.
package entraemu
