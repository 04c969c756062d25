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
//
// # FIDO2 policy
//
// Each tenant has a FIDO2 authentication method policy
// (passkeyd.Fido2Policy; SetFido2Policy, Fido2Policy, seed "fido2_policy"),
// served read-only at GET /{v1.0|beta}/policies/authenticationMethodsPolicy/
// authenticationMethodConfigurations/fido2 to tokens holding
// Policy.Read.AuthenticationMethod or Policy.ReadWrite.AuthenticationMethod.
// A new tenant's policy: enabled, self-service allowed, attestation not
// enforced, no key restrictions, include all_users, no passkey profiles.
// Users belong to groups (User.Groups) for group targets.
//
// A create the policy refuses answers Graph's error envelope with a
// generic code and, because Microsoft documents no specific codes, a
// stable hint in innerError.code (checked in this order):
//
//	403 accessDenied   fido2MethodDisabled             state is "disabled"
//	403 accessDenied   userExcluded                    user or one of its groups in excludeTargets (wins over include)
//	403 accessDenied   userNotTargeted                 neither all_users, the user nor a group in includeTargets
//	403 accessDenied   selfServiceRegistrationDisabled isSelfServiceRegistrationAllowed false (the documented known issue)
//	400 invalidRequest passkeyTypeNotAllowed           a profile without "synced" and BE=1, or without "deviceBound" and BE=0
//	400 invalidRequest aaguidNotAllowed                AAGUID not in an enforced allow list (legacy keyRestrictions, then each profile)
//	400 invalidRequest aaguidBlocked                   AAGUID in an enforced block list
//	400 invalidRequest attestationRequired             attestation enforced (isAttestationEnforced or a profile's
//	                                                   registrationOnly) and the registration is not packed with an x5c
//	                                                   chain to a root given to AddTrustedAttestationRoot
//
// 403 where the user may not register a passkey at all (graph-api.md §7,
// "403 missing role or policy"), 400 where this credential is refused
// ("400 ... policy rejection"). User-level checks run before WebAuthn
// verification, credential-level ones after it; nothing is stored and
// the challenge is not consumed. Simplification: every passkey profile
// in the policy applies to every user (Entra assigns profiles to
// targets). creationOptions is refused only when FIDO2 is disabled (403
// fido2MethodDisabled); everything else is enforced at create.
//
// # ID encodings
//
// SetIDEncoding selects how excludeCredentials[].id and method IDs are
// written (graph-api.md §6): IDEncodingBase64URL (default), IDEncodingStdPadded
// or IDEncodingPaddingDigit. Get and delete accept a method ID in every
// form the emulator writes.
package entraemu
