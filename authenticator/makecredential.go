package authenticator

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	passkeyd "github.com/passkeyd/passkeyd"
)

// AttestationFormat is the attestation statement format MakeCredential
// produces.
type AttestationFormat string

// Attestation formats.
const (
	// FormatPacked is packed self-attestation: the credential key signs
	// authData || clientDataHash. Accepted by Entra where attestation is not
	// enforced, and the default.
	FormatPacked AttestationFormat = "packed"
	// FormatNone carries no statement.
	FormatNone AttestationFormat = "none"
)

// credentialIDLength is the size of a random credential ID.
const credentialIDLength = 32

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08 // never set: credentials are device-bound
	flagBS = 0x10 // never set
	flagAT = 0x40
	flagED = 0x80
)

// CallOption adjusts one MakeCredential or GetAssertion call.
type CallOption func(*callConfig)

type callConfig struct {
	format AttestationFormat
	origin string
}

// WithAttestationFormat selects FormatPacked (default) or FormatNone.
func WithAttestationFormat(f AttestationFormat) CallOption {
	return func(c *callConfig) { c.format = f }
}

// WithOrigin sets clientDataJSON's origin; "https://" + rp ID by default,
// which is what Entra expects of a passkey provider.
func WithOrigin(origin string) CallOption { return func(c *callConfig) { c.origin = origin } }

func newCallConfig(rpID string, opts []CallOption) callConfig {
	c := callConfig{format: FormatPacked}
	for _, o := range opts {
		o(&c)
	}
	if c.origin == "" {
		c.origin = "https://" + rpID
	}
	return c
}

// Attestation is a new credential as the WebAuthn client returns it.
type Attestation struct {
	CredentialID      []byte
	ClientDataJSON    []byte
	AttestationObject []byte
	// ClientExtensionResults is the JSON object of client extension
	// outputs, "{}" when there are none.
	ClientExtensionResults json.RawMessage
}

// Credential returns the attestation in passkeyd's wire form: binary
// values base64url without padding, ready for FinishEnrollment and Graph.
func (at *Attestation) Credential() passkeyd.Credential {
	return passkeyd.Credential{
		ID:                     EncodeID(at.CredentialID),
		ClientDataJSON:         EncodeID(at.ClientDataJSON),
		AttestationObject:      EncodeID(at.AttestationObject),
		ClientExtensionResults: bytes.Clone(at.ClientExtensionResults),
	}
}

// WebAuthnJSON returns the attestation as a WebAuthn
// RegistrationResponseJSON (id, rawId, type, response), the form relying
// party libraries parse. Graph wants Credential's form instead.
func (at *Attestation) WebAuthnJSON() ([]byte, error) {
	id := EncodeID(at.CredentialID)
	return json.Marshal(map[string]any{
		"id": id, "rawId": id, "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    EncodeID(at.ClientDataJSON),
			"attestationObject": EncodeID(at.AttestationObject),
		},
		"clientExtensionResults": at.ClientExtensionResults,
	})
}

const opMake = "authenticator.MakeCredential"

// MakeCredential creates a credential from Graph's publicKey object,
// exactly as received (see ParseCreationOptions). It refuses with an
// *ExcludedError when the device already holds one of excludeCredentials
// for the relying party. The credential is kept, and persisted when the
// authenticator has a keystore, only when everything succeeded; call
// Discard if the registration with the relying party then fails.
func (a *Authenticator) MakeCredential(publicKeyJSON []byte, opts ...CallOption) (*Attestation, error) {
	o, err := ParseCreationOptions(publicKeyJSON)
	if err != nil {
		return nil, err
	}
	cfg := newCallConfig(o.RPID, opts)
	if cfg.format != FormatPacked && cfg.format != FormatNone {
		return nil, newError(passkeyd.EInvalid, opMake, ErrInvalidOptions,
			fmt.Sprintf("unknown attestation format %q", cfg.format))
	}
	alg, err := o.algorithm()
	if err != nil {
		return nil, newError(passkeyd.EUnprocessable, opMake, err,
			"no supported algorithm: this authenticator offers ES256 (-7) and RS256 (-257)")
	}
	credProtect, known := credProtectLevel(o.CredentialProtectionPolicy)
	if o.CredentialProtectionPolicy != "" && !known && o.EnforceCredentialProtectionPolicy {
		return nil, newError(passkeyd.EUnprocessable, opMake, ErrCredProtectUnsupported,
			"the relying party enforces an unknown credential protection policy")
	}

	// Refuse early, before the key generation (RSA takes a while), which
	// happens outside the lock; the check is repeated under the lock
	// together with the insertion, where it counts.
	a.mu.Lock()
	ex := a.excludedLocked(o)
	a.mu.Unlock()
	if ex != nil {
		return nil, excludedError(ex)
	}
	r := a.rand
	c := &credential{
		rpID: o.RPID, userID: o.UserID, userHandle: o.UserHandle,
		userName: o.UserName, userDisplayName: o.UserDisplayName,
		credProtect: credProtect, hmacSecret: o.HMACCreateSecret,
	}
	if c.id, err = randomBytes(r, credentialIDLength); err != nil {
		return nil, newError(passkeyd.EInternal, opMake, err, "cannot create credential ID")
	}
	if alg == AlgRS256 {
		c.key, err = newRS256Key(r)
	} else {
		c.key, err = newES256Key(r)
	}
	if err != nil {
		return nil, newError(passkeyd.EInternal, opMake, err, "cannot create credential key")
	}
	if c.hmacSecret {
		if c.credRandom, err = randomBytes(r, 32); err != nil {
			return nil, newError(passkeyd.EInternal, opMake, err, "cannot create hmac-secret key")
		}
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if ex := a.excludedLocked(o); ex != nil {
		return nil, excludedError(ex)
	}
	c.createdAt = a.now().UTC()
	at, err := a.attest(c, o, cfg)
	if err != nil {
		return nil, newError(passkeyd.EInternal, opMake, err, "cannot build attestation")
	}
	a.creds = append(a.creds, c)
	if err := a.persistLocked(); err != nil {
		a.creds = a.creds[:len(a.creds)-1]
		return nil, fmt.Errorf("%s: %w", opMake, err)
	}
	a.log.Info("credential created", "credential", c, "alg", alg, "format", string(cfg.format))
	return at, nil
}

func excludedError(ex *ExcludedError) error {
	return &passkeyd.Error{Code: passkeyd.EConflict, Op: opMake,
		Message: "a passkey of this user is already on this device", Err: ex}
}

// excludedLocked returns an *ExcludedError for the first excluded ID held
// for the same relying party; a.mu must be held.
func (a *Authenticator) excludedLocked(o *CreationOptions) *ExcludedError {
	for _, s := range o.ExcludeCredentials {
		for _, id := range IDCandidates(s) {
			if c := a.find(id); c != nil && c.rpID == o.RPID {
				return &ExcludedError{RPID: o.RPID, CredentialID: bytes.Clone(c.id)}
			}
		}
	}
	return nil
}

// attest builds clientDataJSON, authenticator data and the attestation
// object for the new credential c.
func (a *Authenticator) attest(c *credential, o *CreationOptions, cfg callConfig) (*Attestation, error) {
	clientData, err := clientDataJSON("webauthn.create", o.Challenge, cfg.origin)
	if err != nil {
		return nil, err
	}
	pub, err := coseKey(a.cbor, c.key.Public())
	if err != nil {
		return nil, err
	}
	authExt := map[string]any{}
	clientExt := map[string]any{}
	if c.hmacSecret {
		authExt["hmac-secret"] = true
		clientExt["hmacCreateSecret"] = true
	}
	if c.credProtect != CredProtectNone {
		authExt["credProtect"] = c.credProtect
	}
	if o.CredProps {
		clientExt["credProps"] = map[string]bool{"rk": true}
	}
	var extCBOR []byte
	if len(authExt) > 0 {
		if extCBOR, err = a.cbor.Marshal(authExt); err != nil {
			return nil, fmt.Errorf("encode extensions: %w", err)
		}
	}

	// Attested credential data: AAGUID | L | credential ID | COSE key.
	attested := make([]byte, 0, 16+2+len(c.id)+len(pub))
	attested = append(attested, a.aaguid[:]...)
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(c.id)))
	attested = append(attested, c.id...)
	attested = append(attested, pub...)
	authData := buildAuthData(c.rpID, flagUP|flagUV|flagAT, 0, attested, extCBOR)

	stmt := map[string]any{}
	if cfg.format == FormatPacked {
		cdh := sha256.Sum256(clientData)
		sig, err := sign(a.rand, c.key, append(bytes.Clone(authData), cdh[:]...))
		if err != nil {
			return nil, fmt.Errorf("sign attestation: %w", err)
		}
		stmt["alg"] = algOf(c.key)
		stmt["sig"] = sig
	}
	attObj, err := a.cbor.Marshal(map[string]any{
		"fmt": string(cfg.format), "attStmt": stmt, "authData": authData,
	})
	if err != nil {
		return nil, fmt.Errorf("encode attestation object: %w", err)
	}
	ext, err := json.Marshal(clientExt)
	if err != nil {
		return nil, fmt.Errorf("encode client extension results: %w", err)
	}
	return &Attestation{CredentialID: bytes.Clone(c.id), ClientDataJSON: clientData,
		AttestationObject: attObj, ClientExtensionResults: ext}, nil
}

// buildAuthData lays out authenticator data (WebAuthn §6.1): rpIdHash,
// flags, signCount, then attested credential data and extensions when
// given. ED is set exactly when extensions are present.
func buildAuthData(rpID string, flags byte, count uint32, attested, ext []byte) []byte {
	if len(ext) > 0 {
		flags |= flagED
	}
	flags &^= flagBE | flagBS
	h := sha256.Sum256([]byte(rpID))
	out := make([]byte, 0, 37+len(attested)+len(ext))
	out = append(out, h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, count)
	out = append(out, attested...)
	return append(out, ext...)
}

// clientDataJSON serialises collected client data with the members in the
// order WebAuthn's limited serialisation uses. The challenge is copied as
// the string it was given.
func clientDataJSON(typ, challenge, origin string) ([]byte, error) {
	v := struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, challenge, origin, false}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode client data: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func randomBytes(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read random bytes: %w", err)
	}
	return b, nil
}
