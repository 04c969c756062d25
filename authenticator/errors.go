package authenticator

import (
	"encoding/base64"
	"errors"
	"fmt"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Sentinel errors; match them with errors.Is. Each is wrapped in a
// *passkeyd.Error whose code and safe message suit the caller's own API.
var (
	// ErrInvalidOptions: the creation or request options are malformed or
	// miss a required field; the *passkeyd.Error lists each problem.
	ErrInvalidOptions = errors.New("invalid options")
	// ErrCredentialExcluded: a credential in excludeCredentials is already
	// held for the same relying party (the error is an *ExcludedError).
	ErrCredentialExcluded = errors.New("credential already registered")
	// ErrNoSupportedAlgorithm: pubKeyCredParams names neither ES256 nor RS256.
	ErrNoSupportedAlgorithm = errors.New("no supported algorithm")
	// ErrCredProtectUnsupported: the relying party enforces a credential
	// protection policy this authenticator does not know.
	ErrCredProtectUnsupported = errors.New("credential protection policy unsupported")
	// ErrNoCredential: no held credential matches the request.
	ErrNoCredential = errors.New("no matching credential")
	// ErrSignCountExhausted: the credential's 32-bit signature counter
	// cannot advance any more; the credential must be replaced.
	ErrSignCountExhausted = errors.New("signature counter exhausted")

	// ErrWrongPassphrase: the keystore passphrase does not match.
	ErrWrongPassphrase = errors.New("wrong keystore passphrase")
	// ErrCorruptKeystore: the keystore file is truncated, altered or not a
	// keystore at all.
	ErrCorruptKeystore = errors.New("keystore file is corrupted")
	// ErrUnsupportedKeystore: the keystore was written by a newer version
	// or with a key derivation this version does not know.
	ErrUnsupportedKeystore = errors.New("unsupported keystore version")
	// ErrKeystoreExists: Create refuses to overwrite an existing file.
	ErrKeystoreExists = errors.New("keystore file already exists")
)

// ExcludedError reports that MakeCredential refused because the device
// already holds one of the user's registered credentials.
type ExcludedError struct {
	RPID         string
	CredentialID []byte
}

// Error implements error.
func (e *ExcludedError) Error() string {
	return fmt.Sprintf("credential %s is already registered for %s on this device",
		base64.RawURLEncoding.EncodeToString(e.CredentialID), e.RPID)
}

// Is makes errors.Is(err, ErrCredentialExcluded) true.
func (e *ExcludedError) Is(target error) bool { return target == ErrCredentialExcluded }

// newError wraps cause in a *passkeyd.Error with a safe message.
func newError(code passkeyd.ErrorCode, op string, cause error, msg string) error {
	return &passkeyd.Error{Code: code, Op: op, Message: msg, Err: cause}
}
