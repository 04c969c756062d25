package manager

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/uuid"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Size limits of a credential from a device. Entra's challenges are ~7 KB,
// so clientDataJSON is allowed 32 KiB; a packed attestation with a chain
// fits well in 64 KiB.
const (
	maxCredentialIDLen  = 1023
	maxClientDataLen    = 32 << 10
	maxAttestationLen   = 64 << 10
	maxExtensionResults = 4 << 10
)

// checkedCredential is what passkeyd reads from a credential it forwards.
type checkedCredential struct {
	credentialID string // base64url, no padding
	aaguid       string
}

// precheckCredential checks what passkeyd can check itself before handing
// a credential to Entra, so that a broken or tampered credential is
// answered precisely and costs no Graph call: sizes and encodings, client
// data (type, challenge, origin), authenticator data (rpIdHash, UP, UV,
// attested credential data) and that the credential IDs agree. Entra
// verifies the attestation itself. challengeDigest is challengeDigestOf
// the challenge of the enrollment's options.
func precheckCredential(cred passkeyd.Credential, challengeDigest, rpID string) (*checkedCredential, error) {
	var fe passkeyd.FieldErrors
	id := decodeField(&fe, "credential.id", cred.ID, maxCredentialIDLen)
	cdj := decodeField(&fe, "credential.client_data_json", cred.ClientDataJSON, maxClientDataLen)
	ao := decodeField(&fe, "credential.attestation_object", cred.AttestationObject, maxAttestationLen)
	if len(cred.ClientExtensionResults) > maxExtensionResults {
		fe.Add("credential.client_extension_results", "is too large")
	} else if len(cred.ClientExtensionResults) > 0 {
		var obj map[string]any
		if json.Unmarshal(cred.ClientExtensionResults, &obj) != nil {
			fe.Add("credential.client_extension_results", "must be a JSON object")
		}
	}
	if err := fe.Err("invalid credential"); err != nil {
		return nil, err
	}
	resp := protocol.AuthenticatorAttestationResponse{
		AuthenticatorResponse: protocol.AuthenticatorResponse{ClientDataJSON: cdj},
		AttestationObject:     ao,
	}
	parsed, err := resp.Parse()
	if err != nil {
		return nil, rejected("the credential cannot be parsed: %s", webauthnDetail(err))
	}
	cd := parsed.CollectedClientData
	switch {
	case cd.Type != protocol.CreateCeremony:
		return nil, rejected("client data type is %q, want %q", cd.Type, protocol.CreateCeremony)
	case challengeDigestOf(cd.Challenge) != challengeDigest:
		return nil, rejected("client data challenge does not match the enrollment's challenge")
	case cd.Origin != "https://"+rpID:
		return nil, rejected("client data origin is %q, want %q", truncate(cd.Origin, 100), "https://"+rpID)
	case cd.CrossOrigin:
		return nil, rejected("client data says crossOrigin: true")
	}
	ad := parsed.AttestationObject.AuthData
	rpHash := sha256.Sum256([]byte(rpID))
	switch {
	case !bytes.Equal(ad.RPIDHash, rpHash[:]):
		return nil, rejected("authenticator data rpIdHash is not SHA-256 of %q", rpID)
	case !ad.Flags.HasUserPresent():
		return nil, rejected("authenticator data lacks the user-present (UP) flag")
	case !ad.Flags.HasUserVerified():
		return nil, rejected("authenticator data lacks the user-verified (UV) flag; Entra requires user verification")
	case !ad.Flags.HasAttestedCredentialData():
		return nil, rejected("authenticator data holds no attested credential")
	case !bytes.Equal(ad.AttData.CredentialID, id):
		return nil, rejected("credential.id differs from the credential ID in the attestation")
	case ad.Flags.HasBackupState() && !ad.Flags.HasBackupEligible():
		return nil, rejected("authenticator data sets backup state (BS) without backup eligibility (BE)")
	}
	if problem := checkCredentialKey(ad.AttData.CredentialPublicKey); problem != "" {
		return nil, rejected("%s", problem)
	}
	aaguid, err := uuid.FromBytes(ad.AttData.AAGUID)
	if err != nil {
		return nil, rejected("the AAGUID is malformed")
	}
	return &checkedCredential{credentialID: base64.RawURLEncoding.EncodeToString(id), aaguid: aaguid.String()}, nil
}

func decodeField(fe *passkeyd.FieldErrors, name, v string, limit int) []byte {
	if v == "" {
		fe.Add(name, "is required")
		return nil
	}
	if base64.RawURLEncoding.DecodedLen(len(v)) > limit {
		fe.Add(name, "is too large")
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
	if err != nil {
		fe.Add(name, "must be base64url without padding")
		return nil
	}
	return b
}

func rejected(format string, args ...any) error {
	return passkeyd.Errorf(passkeyd.EUnprocessable, "credential rejected: "+format, args...)
}

// webauthnDetail is the developer-facing detail of a go-webauthn error.
func webauthnDetail(err error) string {
	if pe, ok := err.(*protocol.Error); ok {
		if pe.DevInfo != "" {
			return truncate(pe.Details+": "+pe.DevInfo, 200)
		}
		return pe.Details
	}
	return "malformed"
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// challengeDigestOf is what an enrollment keeps of Graph's challenge:
// SHA-256, base64url. Entra's challenges run to kilobytes (a sealed
// token), and stored whole they filled two overflow pages of every
// enrollment row, rewritten at each of its state changes.
func challengeDigestOf(challenge string) string {
	sum := sha256.Sum256([]byte(challenge))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
