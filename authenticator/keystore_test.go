package authenticator

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

const (
	testPass     = passkeyd.Secret("correct horse battery staple")
	plantedToken = "pkd_dev_PLANTED-device-token-7f3a9c"
)

// fastKDF keeps the tests quick; production uses DefaultScryptParams.
var fastKDF = WithScryptParams(ScryptParams{LogN: 10, R: 8, P: 1})

// newTestKeystore creates a keystore with one credential, a method ID, one
// assertion and the planted device token.
func newTestKeystore(t *testing.T) (path string, a *Authenticator, at *Attestation) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "provider.keystore")
	a, err := Create(path, testPass, fastKDF, WithRand(seeded(40)), WithNow(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	at = mustMake(t, a, entraOptions(t, "Y2g", nil))
	if err := a.SetMethodID(at.CredentialID, "bWV0aG9k0"); err != nil {
		t.Fatal(err)
	}
	if err := a.SetData("device_token", plantedToken); err != nil {
		t.Fatal(err)
	}
	if err := a.SetData("server_url", "https://passkeyd.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetAssertion(testRPID, "Y2g", nil); err != nil {
		t.Fatal(err)
	}
	return path, a, at
}

func TestKeystoreRoundTrip(t *testing.T) {
	path, a, at := newTestKeystore(t)
	pcc := verifyAttestation(t, at, "Y2g")
	pub := pcc.Response.AttestationObject.AuthData.AttData.CredentialPublicKey

	b, err := Open(path, testPass, WithRand(seeded(41)))
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "path", b.Path(), path)
	want, got := a.Credentials(), b.Credentials()
	if len(got) != 1 {
		t.Fatalf("reopened keystore has %d credentials", len(got))
	}
	w, g := want[0], got[0]
	mustEqual(t, "id", g.EncodedID(), w.EncodedID())
	mustEqual(t, "rp", g.RPID, w.RPID)
	mustEqual(t, "user ID", g.UserID, w.UserID)
	mustEqual(t, "user handle", string(g.UserHandle), string(w.UserHandle))
	mustEqual(t, "user name", g.UserName, w.UserName)
	mustEqual(t, "method", g.MethodID, "bWV0aG9k0")
	mustEqual(t, "counter", g.SignCount, uint32(1))
	mustEqual(t, "created", g.CreatedAt, testNow)
	mustEqual(t, "credProtect", g.CredProtect, CredProtectUVOptional)
	mustEqual(t, "hmac", g.HMACSecret, true)
	if !g.PublicKey.(*ecdsa.PublicKey).Equal(w.PublicKey) {
		t.Error("public key changed across save and open")
	}
	tok, ok := b.Data("device_token")
	mustEqual(t, "token kept", ok, true)
	mustEqual(t, "token", tok, plantedToken)

	// The reopened key signs, and the counter continues from the file.
	as, err := b.GetAssertion(testRPID, "bmV4dA", nil)
	if err != nil {
		t.Fatal(err)
	}
	par := verifyAssertion(t, as, "bmV4dA", pub)
	mustEqual(t, "counter after reopen", par.Response.AuthenticatorData.Counter, uint32(2))
	c, err := Open(path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "persisted counter", c.Credentials()[0].SignCount, uint32(2))

	// Discard and DeleteData persist too.
	if err := c.Discard(at.CredentialID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteData("device_token"); err != nil {
		t.Fatal(err)
	}
	d, err := Open(path, testPass)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "credentials after discard", len(d.Credentials()), 0)
	if _, ok := d.Data("device_token"); ok {
		t.Error("deleted data came back")
	}
}

func TestKeystoreWrongPassphrase(t *testing.T) {
	path, _, _ := newTestKeystore(t)
	_, err := Open(path, "correct horse battery stapler")
	if !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("err = %v, want ErrWrongPassphrase", err)
	}
	mustEqual(t, "code", passkeyd.ErrorCodeOf(err), passkeyd.EUnauthorized)
	if strings.Contains(err.Error(), "stapler") {
		t.Error("the error shows the passphrase")
	}
}

func TestKeystoreFileModeAndSecrets(t *testing.T) {
	path, a, _ := newTestKeystore(t)
	assertMode := func(when string) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", when, fi.Mode().Perm())
		}
	}
	assertMode("after create")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Save(); err != nil {
		t.Fatal(err)
	}
	assertMode("after save over a 0644 file")

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	priv := mustPrivateKeyBytes(t, a)
	for name, secret := range map[string][]byte{
		"device token": []byte(plantedToken), "user name": []byte(testUserName),
		"rp ID": []byte(testRPID), "private key": priv, "server URL": []byte("passkeyd.example"),
	} {
		if bytes.Contains(raw, secret) {
			t.Errorf("keystore file contains the %s in clear", name)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the keystore (temporary files left?)", len(entries))
	}
}

// mustPrivateKeyBytes returns the raw scalar of the first credential,
// reaching into the package as only a test may.
func mustPrivateKeyBytes(t *testing.T, a *Authenticator) []byte {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	b, err := a.creds[0].key.(*ecdsa.PrivateKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeystoreCorrupted(t *testing.T) {
	path, _, _ := newTestKeystore(t)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) func([]byte) []byte {
		return func(b []byte) []byte { b[i] ^= 0x01; return b }
	}
	// withCRC rewrites header byte i and fixes the CRC, so that the check
	// behind the CRC is the one exercised.
	withCRC := func(i int, v byte) func([]byte) []byte {
		return func(b []byte) []byte {
			b[i] = v
			binary.BigEndian.PutUint32(b[headerLen-4:headerLen], crc32.ChecksumIEEE(b[:headerLen-4]))
			return b
		}
	}
	tests := []struct {
		name   string
		damage func([]byte) []byte
		want   error
	}{
		{"empty", func([]byte) []byte { return nil }, ErrCorruptKeystore},
		{"truncated in magic", func(b []byte) []byte { return b[:5] }, ErrCorruptKeystore},
		{"truncated after header", func(b []byte) []byte { return b[:headerLen] }, ErrCorruptKeystore},
		{"truncated in ciphertext", func(b []byte) []byte { return b[:aadLen+20] }, ErrCorruptKeystore},
		{"last byte missing", func(b []byte) []byte { return b[:len(b)-1] }, ErrCorruptKeystore},
		{"bad magic", flip(0), ErrCorruptKeystore},
		{"header byte flipped (CRC)", flip(12), ErrCorruptKeystore},
		{"salt flipped", flip(30), ErrCorruptKeystore},
		{"CRC flipped", flip(headerLen - 1), ErrCorruptKeystore},
		{"nonce flipped", flip(headerLen + 3), ErrCorruptKeystore},
		{"ciphertext flipped", flip(aadLen + 40), ErrCorruptKeystore},
		{"tag flipped", flip(len(good) - 1), ErrCorruptKeystore},
		{"trailing garbage", func(b []byte) []byte { return append(b, 0) }, ErrCorruptKeystore},
		{"newer version", withCRC(8, 2), ErrUnsupportedKeystore},
		{"unknown KDF", withCRC(9, 7), ErrUnsupportedKeystore},
		{"absurd scrypt cost", withCRC(10, 40), ErrCorruptKeystore},
		{"not a keystore", func([]byte) []byte { return []byte(strings.Repeat("hello world\n", 20)) }, ErrCorruptKeystore},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "ks")
			if err := os.WriteFile(p, tc.damage(bytes.Clone(good)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(p, testPass)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestKeystoreCreateErrors(t *testing.T) {
	path, _, _ := newTestKeystore(t)
	if _, err := Create(path, testPass, fastKDF); !errors.Is(err, ErrKeystoreExists) {
		t.Errorf("Create over existing = %v, want ErrKeystoreExists", err)
	}
	if _, err := Open(path, testPass); err != nil {
		t.Errorf("the refused Create damaged the keystore: %v", err)
	}
	other := filepath.Join(t.TempDir(), "ks")
	if _, err := Create(other, "short", fastKDF); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("short passphrase = %v", err)
	}
	if _, err := Create(other, testPass, WithScryptParams(ScryptParams{LogN: 30, R: 8, P: 1})); err == nil {
		t.Error("absurd scrypt cost accepted")
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused Create left a file behind")
	}
	_, err := Open(filepath.Join(t.TempDir(), "missing"), testPass)
	mustEqual(t, "missing file code", passkeyd.ErrorCodeOf(err), passkeyd.ENotFound)
}

func TestKeystoreChangePassphrase(t *testing.T) {
	path, a, _ := newTestKeystore(t)
	a.kdf = ScryptParams{LogN: 11, R: 8, P: 1} // a raised cost is written too
	if err := a.ChangePassphrase("a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, testPass); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("old passphrase: %v", err)
	}
	b, err := Open(path, "a brand new passphrase")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "credentials", len(b.Credentials()), 1)
	raw, _ := os.ReadFile(path)
	mustEqual(t, "logN in header", raw[10], byte(11))
	if err := New().ChangePassphrase("a brand new passphrase"); err == nil {
		t.Error("ChangePassphrase without a keystore succeeded")
	}
}

// TestKeystoreFailedSaveKeepsNothing: when the keystore cannot be written,
// the operation fails and memory matches the file.
func TestKeystoreFailedSaveKeepsNothing(t *testing.T) {
	path, a, at := newTestKeystore(t)
	if err := os.RemoveAll(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.MakeCredential(entraOptions(t, "Y2g", nil)); err == nil {
		t.Fatal("MakeCredential succeeded without a writable keystore")
	}
	mustEqual(t, "credentials", len(a.Credentials()), 1)
	if err := a.SetMethodID(at.CredentialID, "other"); err == nil {
		t.Fatal("SetMethodID succeeded without a writable keystore")
	}
	info, _ := a.Credential(at.CredentialID)
	mustEqual(t, "method ID rolled back", info.MethodID, "bWV0aG9k0")
	if err := a.Discard(at.CredentialID); err == nil {
		t.Fatal("Discard succeeded without a writable keystore")
	}
	mustEqual(t, "credentials after failed discard", len(a.Credentials()), 1)
	if _, err := a.GetAssertion(testRPID, "Y2g", nil); err == nil {
		t.Fatal("GetAssertion returned a signature whose counter was not persisted")
	}
}

func TestNothingSecretPrints(t *testing.T) {
	_, a, _ := newTestKeystore(t)
	var logged bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&logged, nil))
	l.Info("state", "authenticator", a)
	a.mu.Lock()
	c, kf := a.creds[0], a.store
	a.mu.Unlock()
	l.Info("credential", "credential", c)
	priv := mustPrivateKeyBytes(t, a)
	for _, s := range []string{
		fmt.Sprintf("%v %+v %#v %s", a, a, a, a),
		fmt.Sprintf("%v %+v %#v", c, c, c),
		fmt.Sprintf("%v %+v %#v", kf, kf, kf),
		logged.String(),
	} {
		if strings.Contains(s, plantedToken) || strings.Contains(s, fmt.Sprintf("%x", priv)) ||
			strings.Contains(s, string(testPass)) {
			t.Errorf("secret printed: %s", s)
		}
	}
}

func TestKeystoreOpenWarnsOnLooseMode(t *testing.T) {
	path, _, _ := newTestKeystore(t)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	if _, err := Open(path, testPass, WithLogger(slog.New(slog.NewTextHandler(&logged, nil)))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), "-rw-r--r--") {
		t.Errorf("no warning about a 0644 keystore: %s", logged.String())
	}
}
