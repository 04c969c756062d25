package authenticator_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/passkeyd/passkeyd/authenticator"
)

// A provider app unlocks its keystore, answers Graph's creation options,
// sends the credential to Graph and records the method ID it got back.
func Example() {
	dir, _ := os.MkdirTemp("", "provider")
	defer os.RemoveAll(dir)
	auth, err := authenticator.Create(filepath.Join(dir, "keystore"), "the user's passphrase",
		authenticator.WithScryptParams(authenticator.ScryptParams{LogN: 10, R: 8, P: 1})) // fast for the example only
	if err != nil {
		fmt.Println(err)
		return
	}
	publicKey := []byte(`{"rp":{"id":"login.microsoft.com","name":"Microsoft"},
		"user":{"id":"T0NPcF9sX3V4a0s","name":"alice@contoso.com","displayName":"Alice"},
		"challenge":"Y2hhbGxlbmdl","pubKeyCredParams":[{"type":"public-key","alg":-7}],
		"authenticatorSelection":{"requireResidentKey":true,"userVerification":"required"},
		"extensions":{"hmacCreateSecret":true,"credentialProtectionPolicy":"userVerificationOptional"}}`)
	att, err := auth.MakeCredential(publicKey)
	if err != nil {
		fmt.Println(err)
		return
	}
	cred := att.Credential() // what goes to Graph (through passkeyd)
	ext, _ := json.Marshal(cred.ClientExtensionResults)
	fmt.Println(string(ext))
	// Graph answered 201 with the method; had it failed: auth.Discard(att.CredentialID).
	if err := auth.SetMethodID(att.CredentialID, "method-id-from-graph"); err != nil {
		fmt.Println(err)
		return
	}
	as, err := auth.GetAssertion("login.microsoft.com", "c2lnbi1pbg", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(as.AuthenticatorData[32]&0x05 == 0x05, as.AuthenticatorData[36]) // UP|UV, counter
	// Output:
	// {"hmacCreateSecret":true}
	// true 1
}
