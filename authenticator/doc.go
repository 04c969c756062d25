// Package authenticator is passkeyd's software FIDO2 passkey provider: what
// a phone or desktop app acting as a passkey provider does with the
// creation options Microsoft Graph hands out (graph-api.md §4.1, §5, §6).
//
// An Authenticator holds device-bound ES256 (or, only when the relying
// party offers no ES256, RS256) credentials. MakeCredential turns Graph's
// publicKey object into an attested credential ready for Graph's create
// call; GetAssertion signs in with a held credential. Its state can live in
// an encrypted keystore file (Create, Open, Save) together with opaque
// caller data such as the server URL and the device token.
//
// # User verification
//
// A software provider has no biometric sensor. Its user verification is
// the keystore passphrase: an Authenticator only exists after Open or Create
// succeeded with it, so every credential operation sets the UV flag. An
// in-memory Authenticator from New sets UV as well; it exists for tests and
// benchmarks, where the caller stands in for the user.
//
// # What relying parties see
//
// Credentials are discoverable (resident) and device-bound: the BE and BS
// flags are always clear, the AAGUID is DefaultAAGUID unless overridden,
// and the attestation is packed self-attestation (or "none" on request).
package authenticator
