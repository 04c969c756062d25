package entraemu

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Machine hints the emulator sends as innerError.code when the tenant's
// FIDO2 policy refuses a registration. Microsoft documents no specific
// codes for these (graph-api.md §7); the top-level code stays Graph's
// generic accessDenied (403: the user may not register a passkey at all)
// or invalidRequest (400: this credential is refused), and the hint lets
// a client tell the cases apart.
const (
	InnerCodeFido2MethodDisabled             = "fido2MethodDisabled"             // 403: state is disabled
	InnerCodeUserNotTargeted                 = "userNotTargeted"                 // 403: not in includeTargets
	InnerCodeUserExcluded                    = "userExcluded"                    // 403: in excludeTargets
	InnerCodeSelfServiceRegistrationDisabled = "selfServiceRegistrationDisabled" // 403: isSelfServiceRegistrationAllowed false
	InnerCodeAAGUIDNotAllowed                = "aaguidNotAllowed"                // 400: AAGUID not in an allow list
	InnerCodeAAGUIDBlocked                   = "aaguidBlocked"                   // 400: AAGUID in a block list
	InnerCodeAttestationRequired             = "attestationRequired"             // 400: attestation enforced, not satisfied
	InnerCodePasskeyTypeNotAllowed           = "passkeyTypeNotAllowed"           // 400: device-bound/synced not allowed
)

// maxAttestationRootPEM bounds one AddTrustedAttestationRoot input.
const maxAttestationRootPEM = 256 << 10

func policyDenied(inner, format string, args ...any) *graphError {
	return &graphError{status: http.StatusForbidden, code: "accessDenied", msg: fmt.Sprintf(format, args...), inner: inner}
}

func policyRejected(inner, format string, args ...any) *graphError {
	return &graphError{status: http.StatusBadRequest, code: "invalidRequest", msg: fmt.Sprintf(format, args...), inner: inner}
}

// checkUserPolicy applies the conditions that concern the user, not the
// credential: the method's state, the targets and self-service setup.
// An exclusion wins over an inclusion, as in Entra.
func checkUserPolicy(p passkeyd.Fido2Policy, u *User) *graphError {
	switch {
	case p.State != policyEnabled:
		return policyDenied(InnerCodeFido2MethodDisabled, "The FIDO2 (passkey) authentication method is disabled in the tenant's authentication methods policy.")
	case userTargeted(p.ExcludeTargets, u):
		return policyDenied(InnerCodeUserExcluded, "The user is excluded from the FIDO2 authentication method policy (excludeTargets).")
	case !userTargeted(p.IncludeTargets, u):
		return policyDenied(InnerCodeUserNotTargeted, "The user is not targeted by the FIDO2 authentication method policy (includeTargets).")
	case !p.IsSelfServiceRegistrationAllowed:
		// The documented known issue: with "Allow self-service set up"
		// off, provisioning on behalf of users fails too.
		return policyDenied(InnerCodeSelfServiceRegistrationDisabled, "The FIDO2 policy does not allow self-service set up (isSelfServiceRegistrationAllowed is false), which passkey provisioning requires.")
	}
	return nil
}

// credentialFacts is what the policy looks at in a verified registration.
type credentialFacts struct {
	aaguid         uuid.UUID
	backupEligible bool
	format         string
	x5c            [][]byte // DER, attestation certificate first
}

// checkCredentialPolicy applies the conditions on the credential, in
// order: passkey type, AAGUID restrictions (legacy, then each profile),
// attestation. Every passkey profile applies (see the package doc).
func (e *Emulator) checkCredentialPolicy(p passkeyd.Fido2Policy, f credentialFacts) *graphError {
	for i, pp := range p.PasskeyProfiles {
		pt, err := parsePasskeyTypes(pp.PasskeyTypes)
		if err != nil { // validated when set; defensive
			continue
		}
		if f.backupEligible && !pt.synced {
			return policyRejected(InnerCodePasskeyTypeNotAllowed, "Passkey profile %s allows only device-bound passkeys; this credential is synced (backup eligible).", profileName(i, pp))
		}
		if !f.backupEligible && !pt.deviceBound {
			return policyRejected(InnerCodePasskeyTypeNotAllowed, "Passkey profile %s allows only synced passkeys; this credential is device-bound.", profileName(i, pp))
		}
	}
	if ge := checkKeyRestrictions("the FIDO2 policy's keyRestrictions", p.KeyRestrictions, f.aaguid); ge != nil {
		return ge
	}
	for i, pp := range p.PasskeyProfiles {
		if ge := checkKeyRestrictions("passkey profile "+profileName(i, pp), pp.KeyRestrictions, f.aaguid); ge != nil {
			return ge
		}
	}
	source := ""
	if p.IsAttestationEnforced {
		source = "the FIDO2 policy (isAttestationEnforced)"
	}
	for i, pp := range p.PasskeyProfiles {
		if source == "" && pp.AttestationEnforcement == attestationRegistrationOnly {
			source = "passkey profile " + profileName(i, pp) + " (attestationEnforcement registrationOnly)"
		}
	}
	if source == "" {
		return nil
	}
	switch {
	case f.format != "packed":
		return policyRejected(InnerCodeAttestationRequired, "Attestation is enforced by %s: only packed attestation with a certificate chain to a trusted root is accepted, not %q.", source, truncate(f.format, 32))
	case len(f.x5c) == 0:
		return policyRejected(InnerCodeAttestationRequired, "Attestation is enforced by %s: packed self attestation (no certificate chain) is not accepted.", source)
	}
	if reason := e.verifyAttestationChain(f.x5c); reason != "" {
		return policyRejected(InnerCodeAttestationRequired, "Attestation is enforced by %s: the attestation certificate chain %s.", source, reason)
	}
	return nil
}

func checkKeyRestrictions(where string, kr *passkeyd.KeyRestrictions, aaguid uuid.UUID) *graphError {
	if kr == nil || !kr.IsEnforced {
		return nil
	}
	in := aaguidIn(kr.AAGUIDs, aaguid)
	switch {
	case kr.EnforcementType == enforceAllow && !in:
		return policyRejected(InnerCodeAAGUIDNotAllowed, "The authenticator's AAGUID %s is not in the allow list of %s.", aaguid, where)
	case kr.EnforcementType == enforceBlock && in:
		return policyRejected(InnerCodeAAGUIDBlocked, "The authenticator's AAGUID %s is in the block list of %s.", aaguid, where)
	}
	return nil
}

// profileName names a profile in messages: its name, else its ID, else
// its position.
func profileName(i int, pp passkeyd.PasskeyProfile) string {
	switch {
	case pp.Name != "":
		return fmt.Sprintf("%q", pp.Name)
	case pp.ID != "":
		return fmt.Sprintf("%q", pp.ID)
	}
	return fmt.Sprintf("#%d", i)
}

// AddTrustedAttestationRoot trusts the CERTIFICATE blocks of certPEM as
// attestation roots, standing in for the FIDO metadata service: where
// the FIDO2 policy enforces attestation, only a packed x5c chain to one of
// them is accepted.
func (e *Emulator) AddTrustedAttestationRoot(certPEM []byte) error {
	certs, err := parseCertificatesPEM(certPEM)
	if err != nil {
		return fmt.Errorf("entraemu: add trusted attestation root: %w", err)
	}
	e.mu.Lock()
	e.attRoots = append(e.attRoots, certs...)
	e.mu.Unlock()
	return nil
}

// parseCertificatesPEM reads one or more CERTIFICATE blocks and nothing
// else.
func parseCertificatesPEM(b []byte) ([]*x509.Certificate, error) {
	if len(b) > maxAttestationRootPEM {
		return nil, fmt.Errorf("PEM is %d bytes, at most %d", len(b), maxAttestationRootPEM)
	}
	var certs []*x509.Certificate
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, want CERTIFICATE", len(certs), truncate(blk.Type, 32))
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", len(certs), err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no CERTIFICATE block in PEM")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("trailing data after the last PEM block")
	}
	return certs, nil
}

// verifyAttestationChain checks x5c against the trusted roots at the
// emulator's clock; it returns "" when the chain verifies, else the end
// of a sentence saying why not.
func (e *Emulator) verifyAttestationChain(x5c [][]byte) string {
	e.mu.Lock()
	roots := x509.NewCertPool()
	for _, c := range e.attRoots {
		roots.AddCert(c)
	}
	n := len(e.attRoots)
	e.mu.Unlock()
	if n == 0 {
		return "cannot be verified: no trusted attestation roots are configured"
	}
	certs := make([]*x509.Certificate, 0, len(x5c))
	for _, der := range x5c {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return "holds a certificate that cannot be parsed"
		}
		certs = append(certs, c)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   e.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &unknown):
		return "does not chain to a trusted attestation root"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "holds a certificate that is expired or not yet valid"
	}
	return "is not a valid certificate chain"
}
