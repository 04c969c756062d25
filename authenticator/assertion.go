package authenticator

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Assertion is a sign-in signature as the WebAuthn client returns it.
type Assertion struct {
	CredentialID      []byte
	ClientDataJSON    []byte
	AuthenticatorData []byte
	// Signature is over authenticatorData || SHA-256(clientDataJSON):
	// ASN.1 DER ECDSA for ES256, PKCS #1 v1.5 for RS256.
	Signature  []byte
	UserHandle []byte
}

// WebAuthnJSON returns the assertion as a WebAuthn
// AuthenticationResponseJSON (id, rawId, type, response), binary values
// base64url without padding.
func (as *Assertion) WebAuthnJSON() ([]byte, error) {
	id := EncodeID(as.CredentialID)
	return json.Marshal(map[string]any{
		"id": id, "rawId": id, "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    EncodeID(as.ClientDataJSON),
			"authenticatorData": EncodeID(as.AuthenticatorData),
			"signature":         EncodeID(as.Signature),
			"userHandle":        EncodeID(as.UserHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
}

const opAssert = "authenticator.GetAssertion"

// GetAssertion signs in at rpID. challenge is used as a string, exactly as
// given, in clientDataJSON. The credential is the first of
// allowCredentials held for rpID, or, when the list is empty, the most
// recently created credential for rpID (all ours are discoverable). The
// signature counter is incremented and persisted before the signature is
// returned, so a counter value is never used twice, even across a crash.
func (a *Authenticator) GetAssertion(rpID, challenge string, allowCredentials [][]byte, opts ...CallOption) (*Assertion, error) {
	var fe passkeyd.FieldErrors
	if rpID == "" || !validHostname(rpID) {
		fe.Add("rpId", "is not a valid host name")
	}
	switch {
	case challenge == "":
		fe.Add("challenge", "is required")
	case len(challenge) > MaxChallengeLength:
		fe.Add("challenge", fmt.Sprintf("exceeds %d characters", MaxChallengeLength))
	case !isBase64Text(challenge):
		fe.Add("challenge", "is not base64url text")
	}
	if len(allowCredentials) > maxExcludeCount {
		fe.Add("allowCredentials", fmt.Sprintf("has more than %d entries", maxExcludeCount))
	}
	if len(fe) > 0 {
		return nil, &passkeyd.Error{Code: passkeyd.EInvalid, Op: opAssert,
			Message: "invalid request options", Fields: fe, Err: ErrInvalidOptions}
	}
	cfg := newCallConfig(rpID, opts)
	clientData, err := clientDataJSON("webauthn.get", challenge, cfg.origin)
	if err != nil {
		return nil, newError(passkeyd.EInternal, opAssert, err, "cannot build client data")
	}
	cdh := sha256.Sum256(clientData)

	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.selectLocked(rpID, allowCredentials)
	if c == nil {
		return nil, newError(passkeyd.ENotFound, opAssert, ErrNoCredential,
			"no passkey for this relying party on this device")
	}
	if c.signCount == math.MaxUint32 {
		return nil, newError(passkeyd.EConflict, opAssert, ErrSignCountExhausted,
			"the passkey's signature counter is exhausted; enroll a new one")
	}
	// The counter stays advanced even if persisting fails: no signature
	// carries the new value then, and skipping a value is harmless.
	c.signCount++
	if err := a.persistLocked(); err != nil {
		return nil, fmt.Errorf("%s: %w", opAssert, err)
	}
	authData := buildAuthData(rpID, flagUP|flagUV, c.signCount, nil, nil)
	sig, err := sign(a.rand, c.key, append(bytes.Clone(authData), cdh[:]...))
	if err != nil {
		return nil, newError(passkeyd.EInternal, opAssert, err, "cannot sign assertion")
	}
	a.log.Info("assertion made", "credential", c, "sign_count", c.signCount)
	return &Assertion{CredentialID: bytes.Clone(c.id), ClientDataJSON: clientData,
		AuthenticatorData: authData, Signature: sig, UserHandle: bytes.Clone(c.userHandle)}, nil
}

// selectLocked picks the credential for an assertion; a.mu must be held.
func (a *Authenticator) selectLocked(rpID string, allow [][]byte) *credential {
	if len(allow) == 0 {
		for i := len(a.creds) - 1; i >= 0; i-- {
			if a.creds[i].rpID == rpID {
				return a.creds[i]
			}
		}
		return nil
	}
	for _, id := range allow {
		if c := a.find(id); c != nil && c.rpID == rpID {
			return c
		}
	}
	return nil
}
