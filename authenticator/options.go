package authenticator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Input limits. Entra's challenge is about 7 KB (it keeps its state in it),
// so 64 KiB leaves room without letting a hostile server exhaust memory.
const (
	MaxOptionsSize     = 1 << 20 // the whole publicKey JSON
	MaxChallengeLength = 64 << 10
	maxUserIDLength    = 512  // encoded user.id
	maxNameLength      = 1024 // user.name, user.displayName, rp.name
	maxExcludeCount    = 1024
	maxParamsCount     = 64
)

// COSE algorithm identifiers this authenticator implements.
const (
	AlgES256 = -7
	AlgRS256 = -257
)

// Credential protection levels (CTAP 2.1 credProtect).
const (
	CredProtectNone                   = 0
	CredProtectUVOptional             = 1
	CredProtectUVOptionalWithCredList = 2
	CredProtectUVRequired             = 3
)

// credProtectLevel maps WebAuthn's credentialProtectionPolicy to CTAP levels.
func credProtectLevel(policy string) (int, bool) {
	switch policy {
	case "userVerificationOptional":
		return CredProtectUVOptional, true
	case "userVerificationOptionalWithCredentialIDList":
		return CredProtectUVOptionalWithCredList, true
	case "userVerificationRequired":
		return CredProtectUVRequired, true
	}
	return CredProtectNone, false
}

// CreationOptions is what this authenticator reads of Graph's publicKey
// object (graph-api.md §4.1). Unknown fields are ignored.
type CreationOptions struct {
	RPID   string
	RPName string
	// UserID is Graph's user.id as given (an opaque base64url string);
	// UserHandle is its decoded bytes, which assertions return.
	UserID          string
	UserHandle      []byte
	UserName        string
	UserDisplayName string
	// Challenge is used as a string, exactly as given, in clientDataJSON.
	Challenge string
	// Algorithms are the COSE algorithms of pubKeyCredParams, in order.
	Algorithms []int
	// ExcludeCredentials are the IDs as given (decoded tolerantly on use).
	ExcludeCredentials []string
	ResidentKey        string // "required", "preferred", "discouraged" or ""
	UserVerification   string // "required", "preferred", "discouraged" or ""
	Attestation        string // conveyance preference, informational
	// Extensions.
	HMACCreateSecret                  bool
	CredentialProtectionPolicy        string
	EnforceCredentialProtectionPolicy bool
	CredProps                         bool

	// paramsListed records a non-empty pubKeyCredParams, so that a list
	// with no public-key entry is not mistaken for an absent one.
	paramsListed bool
}

type wireOptions struct {
	RP *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"rp"`
	User *struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
	} `json:"user"`
	Challenge        string `json:"challenge"`
	PubKeyCredParams []struct {
		Type string `json:"type"`
		Alg  int    `json:"alg"`
	} `json:"pubKeyCredParams"`
	ExcludeCredentials []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"excludeCredentials"`
	AuthenticatorSelection *struct {
		RequireResidentKey bool   `json:"requireResidentKey"`
		ResidentKey        string `json:"residentKey"`
		UserVerification   string `json:"userVerification"`
	} `json:"authenticatorSelection"`
	Attestation string `json:"attestation"`
	Extensions  *struct {
		HMACCreateSecret                  bool   `json:"hmacCreateSecret"`
		CredentialProtectionPolicy        string `json:"credentialProtectionPolicy"`
		EnforceCredentialProtectionPolicy bool   `json:"enforceCredentialProtectionPolicy"`
		CredProps                         bool   `json:"credProps"`
	} `json:"extensions"`
	// PublicKey is set when the caller passed the whole creationOptions
	// object instead of its publicKey member; we then read the inner one.
	PublicKey json.RawMessage `json:"publicKey"`
}

const opParse = "authenticator.ParseCreationOptions"

// ParseCreationOptions parses and validates Graph's publicKey object. It
// also accepts the whole creationOptions object ({"publicKey": {...}}). On
// failure the error is a *passkeyd.Error (EInvalid or ETooLarge) wrapping
// ErrInvalidOptions that names every problem.
func ParseCreationOptions(publicKeyJSON []byte) (*CreationOptions, error) {
	if len(publicKeyJSON) > MaxOptionsSize {
		return nil, newError(passkeyd.ETooLarge, opParse, ErrInvalidOptions,
			fmt.Sprintf("creation options exceed %d bytes", MaxOptionsSize))
	}
	var w wireOptions
	if err := json.Unmarshal(publicKeyJSON, &w); err != nil {
		return nil, newError(passkeyd.EInvalid, opParse, fmt.Errorf("%w: %v", ErrInvalidOptions, err),
			"creation options are not a valid JSON object")
	}
	if w.RP == nil && len(bytes.TrimSpace(w.PublicKey)) > 0 && !bytes.Equal(bytes.TrimSpace(w.PublicKey), []byte("null")) {
		// One level of unwrapping only, so the recursion is bounded.
		var inner wireOptions
		if err := json.Unmarshal(w.PublicKey, &inner); err != nil {
			return nil, newError(passkeyd.EInvalid, opParse, fmt.Errorf("%w: %v", ErrInvalidOptions, err),
				"creation options publicKey is not a valid JSON object")
		}
		w = inner
	}
	return w.validate()
}

func (w *wireOptions) validate() (*CreationOptions, error) {
	var fe passkeyd.FieldErrors
	o := &CreationOptions{Challenge: w.Challenge, Attestation: w.Attestation}

	if w.RP == nil || w.RP.ID == "" {
		fe.Add("rp.id", "is required")
	} else if !validHostname(w.RP.ID) {
		fe.Add("rp.id", "is not a valid host name")
	} else {
		o.RPID, o.RPName = w.RP.ID, w.RP.Name
	}
	if w.RP != nil && !validText(w.RP.Name) {
		fe.Add("rp.name", "is too long or not valid text")
	}

	switch {
	case w.Challenge == "":
		fe.Add("challenge", "is required")
	case len(w.Challenge) > MaxChallengeLength:
		fe.Add("challenge", fmt.Sprintf("exceeds %d characters", MaxChallengeLength))
	case !isBase64Text(w.Challenge):
		fe.Add("challenge", "is not base64url text")
	}

	if w.User == nil || w.User.ID == "" {
		fe.Add("user.id", "is required")
	} else if len(w.User.ID) > maxUserIDLength {
		fe.Add("user.id", fmt.Sprintf("exceeds %d characters", maxUserIDLength))
	} else if h, err := DecodeID(w.User.ID); err != nil {
		fe.Add("user.id", "is not base64url")
	} else {
		o.UserID, o.UserHandle = w.User.ID, h
	}
	if w.User != nil {
		if !validText(w.User.Name) {
			fe.Add("user.name", "is too long or not valid text")
		}
		if !validText(w.User.DisplayName) {
			fe.Add("user.displayName", "is too long or not valid text")
		}
		o.UserName, o.UserDisplayName = w.User.Name, w.User.DisplayName
	}

	if len(w.PubKeyCredParams) > maxParamsCount {
		fe.Add("pubKeyCredParams", fmt.Sprintf("has more than %d entries", maxParamsCount))
	} else {
		o.paramsListed = len(w.PubKeyCredParams) > 0
		for _, p := range w.PubKeyCredParams {
			// An empty type is tolerated; other credential types are not ours.
			if p.Type == "" || p.Type == "public-key" {
				o.Algorithms = append(o.Algorithms, p.Alg)
			}
		}
	}

	if len(w.ExcludeCredentials) > maxExcludeCount {
		fe.Add("excludeCredentials", fmt.Sprintf("has more than %d entries", maxExcludeCount))
	} else {
		for i, c := range w.ExcludeCredentials {
			if c.Type != "" && c.Type != "public-key" {
				continue
			}
			if c.ID == "" || len(c.ID) > maxIDLength {
				fe.Add(fmt.Sprintf("excludeCredentials[%d].id", i), "is empty or too long")
				continue
			}
			o.ExcludeCredentials = append(o.ExcludeCredentials, c.ID)
		}
	}

	if s := w.AuthenticatorSelection; s != nil {
		o.ResidentKey, o.UserVerification = s.ResidentKey, s.UserVerification
		if s.RequireResidentKey && o.ResidentKey == "" {
			o.ResidentKey = "required"
		}
	}
	if x := w.Extensions; x != nil {
		o.HMACCreateSecret = x.HMACCreateSecret
		o.CredentialProtectionPolicy = x.CredentialProtectionPolicy
		o.EnforceCredentialProtectionPolicy = x.EnforceCredentialProtectionPolicy
		o.CredProps = x.CredProps
		if len(x.CredentialProtectionPolicy) > 64 {
			fe.Add("extensions.credentialProtectionPolicy", "is too long")
		}
	}
	if len(fe) > 0 {
		return nil, &passkeyd.Error{Code: passkeyd.EInvalid, Op: opParse,
			Message: "invalid creation options", Fields: fe, Err: ErrInvalidOptions}
	}
	return o, nil
}

// algorithm picks the key type: ES256 whenever offered, RS256 only when
// ES256 is not, ES256 when the list is empty (WebAuthn's default).
func (o *CreationOptions) algorithm() (int, error) {
	if len(o.Algorithms) == 0 && !o.paramsListed {
		return AlgES256, nil
	}
	rs := false
	for _, a := range o.Algorithms {
		switch a {
		case AlgES256:
			return AlgES256, nil
		case AlgRS256:
			rs = true
		}
	}
	if rs {
		return AlgRS256, nil
	}
	return 0, ErrNoSupportedAlgorithm
}

// validHostname reports whether s is a plausible DNS host name (RP IDs are
// registrable domains or "localhost"); IP literals and ports are refused.
func validHostname(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	allDigits := true
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				allDigits = false
			case c >= '0' && c <= '9':
			default:
				return false
			}
		}
	}
	// "1.2.3.4" is an address, not a name.
	return !allDigits
}

// isBase64Text reports whether s uses only base64/base64url characters.
func isBase64Text(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// validText bounds a display string and refuses invalid UTF-8 and control
// characters, which would end up in logs and UIs.
func validText(s string) bool {
	if len(s) > maxNameLength || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
