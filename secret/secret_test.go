package secret_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passkeyd/passkeyd/secret"
)

// Fixed test keys: tests must not depend on randomness to pass.
var (
	keyA = bytes.Repeat([]byte{0xA1}, 32)
	keyB = bytes.Repeat([]byte{0xB2}, 32)
)

const aad = "connectors/default/client_secret"

func newKeyring(t *testing.T, key []byte) *secret.Keyring {
	t.Helper()
	k, err := secret.NewKeyring(secret.KeyID(key), key)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func seal(t *testing.T, k *secret.Keyring, pt string) []byte {
	t.Helper()
	ct, err := k.Seal([]byte(pt), aad)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return ct
}

func TestRoundTrip(t *testing.T) {
	k := newKeyring(t, keyA)
	for _, pt := range []string{"", "s", "Xy8Q~super-secret-client-secret-value", strings.Repeat("z", 10000)} {
		ct := seal(t, k, pt)
		got, err := k.Open(ct, aad)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if string(got) != pt {
			t.Errorf("Open = %q, want %q", got, pt)
		}
		if len(pt) > 3 && bytes.Contains(ct, []byte(pt)) {
			t.Errorf("sealed value contains the plaintext")
		}
	}
}

func TestKeyID(t *testing.T) {
	// First 8 hex of SHA-256(32 × 0xA1), computed with
	// printf '\xa1%.0s' {1..32} | sha256sum
	if got, want := secret.KeyID(keyA), "52fe6094"; got != want {
		t.Errorf("KeyID = %s, want %s", got, want)
	}
}

func TestSealsDiffer(t *testing.T) {
	k := newKeyring(t, keyA)
	a, b := seal(t, k, "same"), seal(t, k, "same")
	if bytes.Equal(a, b) {
		t.Error("two seals of the same value are equal")
	}
}

func TestTamperEachPart(t *testing.T) {
	k := newKeyring(t, keyA)
	ct := seal(t, k, "Xy8Q~super-secret")
	idLen := len(secret.KeyID(keyA))
	header := 4 + 2 + idLen
	parts := []struct {
		name string
		at   int
		want error
		// or is also right: a key ID one byte longer takes in the
		// random first byte of the nonce, which may be a valid key ID
		// character (then the key is unknown) or not (a bad header).
		or error
	}{
		{"magic", 0, secret.ErrBadHeader, nil},
		{"version", 4, secret.ErrBadHeader, nil},
		{"key ID length", 5, secret.ErrBadHeader, secret.ErrUnknownKey},
		{"key ID", 6, secret.ErrUnknownKey, nil},
		{"wrap nonce", header, secret.ErrAuth, nil},
		{"wrapped key", header + 12, secret.ErrAuth, nil},
		{"wrapped key tag", header + 12 + 32 + 15, secret.ErrAuth, nil},
		{"data nonce", header + 12 + 48, secret.ErrAuth, nil},
		{"ciphertext", header + 12 + 48 + 12, secret.ErrAuth, nil},
		{"data tag", len(ct) - 1, secret.ErrAuth, nil},
	}
	for _, p := range parts {
		t.Run(p.name, func(t *testing.T) {
			bad := bytes.Clone(ct)
			bad[p.at] ^= 0x01
			_, err := k.Open(bad, aad)
			if !errors.Is(err, p.want) && (p.or == nil || !errors.Is(err, p.or)) {
				t.Errorf("Open after flipping %s: %v, want %v", p.name, err, p.want)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int{0, 3, header, header + 60, len(ct) - 1} {
			if _, err := k.Open(ct[:n], aad); err == nil {
				t.Errorf("Open of the first %d bytes succeeded", n)
			}
		}
	})
	t.Run("appended", func(t *testing.T) {
		if _, err := k.Open(append(bytes.Clone(ct), 0), aad); !errors.Is(err, secret.ErrAuth) {
			t.Errorf("Open with a byte appended: %v, want ErrAuth", err)
		}
	})
}

func TestMovedToAnotherRow(t *testing.T) {
	k := newKeyring(t, keyA)
	ct := seal(t, k, "value")
	for _, other := range []string{"connectors/other/client_secret", "connectors/default/cert_key", ""} {
		_, err := k.Open(ct, other)
		if !errors.Is(err, secret.ErrAuth) || !strings.Contains(err.Error(), "moved to another row") {
			t.Errorf("Open with aad %q: %v, want ErrAuth", other, err)
		}
	}
}

func TestWrongKey(t *testing.T) {
	ct := seal(t, newKeyring(t, keyA), "value")
	t.Run("unknown ID", func(t *testing.T) {
		_, err := newKeyring(t, keyB).Open(ct, aad)
		if !errors.Is(err, secret.ErrUnknownKey) || !strings.Contains(err.Error(), secret.KeyID(keyA)) {
			t.Errorf("Open: %v, want ErrUnknownKey naming %s", err, secret.KeyID(keyA))
		}
	})
	t.Run("same ID other key", func(t *testing.T) {
		k, err := secret.NewKeyring(secret.KeyID(keyA), keyB)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Open(ct, aad); !errors.Is(err, secret.ErrAuth) {
			t.Errorf("Open: %v, want ErrAuth", err)
		}
	})
}

func TestRotation(t *testing.T) {
	k := newKeyring(t, keyA)
	old := seal(t, k, "value")
	idB := secret.KeyID(keyB)
	if err := k.Add(idB, keyB); err != nil {
		t.Fatal(err)
	}
	if err := k.Add(idB, keyA); err == nil {
		t.Error("Add of a held ID succeeded")
	}
	if err := k.SetPrimary("nope"); err == nil {
		t.Error("SetPrimary of an unknown ID succeeded")
	}
	if err := k.SetPrimary(idB); err != nil {
		t.Fatal(err)
	}
	fresh := seal(t, k, "value")
	if id, _ := secret.SealedKeyID(fresh); id != idB {
		t.Errorf("new value sealed under %s, want %s", id, idB)
	}
	rewrapped, err := k.Rewrap(old, aad)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := secret.SealedKeyID(rewrapped); id != idB {
		t.Errorf("rewrapped value under %s, want %s", id, idB)
	}
	onlyB := newKeyring(t, keyB)
	for name, ct := range map[string][]byte{"old": old, "rewrapped": rewrapped} {
		got, err := k.Open(ct, aad)
		if err != nil || string(got) != "value" {
			t.Errorf("%s: Open = %q, %v", name, got, err)
		}
		_, err = onlyB.Open(ct, aad)
		if name == "old" && !errors.Is(err, secret.ErrUnknownKey) || name == "rewrapped" && err != nil {
			t.Errorf("%s: Open with key B only: %v", name, err)
		}
	}
	if _, err := k.Rewrap(rewrapped, "connectors/x/client_secret"); !errors.Is(err, secret.ErrAuth) {
		t.Errorf("Rewrap with wrong aad: %v, want ErrAuth", err)
	}
}

func TestKeyringHidesKeys(t *testing.T) {
	k := newKeyring(t, keyA)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k)} {
		if strings.Contains(s, hex.EncodeToString(keyA)) || strings.Contains(s, string(keyA)) || strings.Contains(strings.ToLower(s), "a1 a1") {
			t.Errorf("keyring formatted as %q shows key material", s)
		}
	}
}

func TestNewKeyringRejects(t *testing.T) {
	cases := map[string]struct {
		id  string
		key []byte
	}{
		"short key": {"k1", keyA[:31]},
		"empty ID":  {"", keyA},
		"bad ID":    {"k/1", keyA},
		"long ID":   {strings.Repeat("k", 65), keyA},
	}
	for name, tc := range cases {
		if _, err := secret.NewKeyring(tc.id, tc.key); err == nil {
			t.Errorf("%s: NewKeyring succeeded", name)
		}
	}
}

func TestMasterKeyEncodings(t *testing.T) {
	ok := []string{
		hex.EncodeToString(keyA),
		strings.ToUpper(hex.EncodeToString(keyA)),
		"  " + "oaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaE=" + "\n",
		"oaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaE",
	}
	for _, v := range ok {
		key, err := secret.MasterKeyFromEnv(v)
		if err != nil || !bytes.Equal(key, keyA) {
			t.Errorf("MasterKeyFromEnv(%q) = %x, %v", v, key, err)
		}
	}
	bad := []string{"", "short", hex.EncodeToString(keyA[:16]), "zz" + hex.EncodeToString(keyA)[2:] + "!"}
	for _, v := range bad {
		_, err := secret.MasterKeyFromEnv(v)
		if err == nil {
			t.Errorf("MasterKeyFromEnv(%q) succeeded", v)
		} else if v != "" && strings.Contains(err.Error(), v) {
			t.Errorf("error %q repeats the value", err)
		}
	}
}

func TestMasterKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	if err := secret.GenerateMasterKeyFile(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("generated file mode %04o, want 0600", st.Mode().Perm())
	}
	key, err := secret.LoadMasterKey(path)
	if err != nil || len(key) != secret.KeySize {
		t.Fatalf("LoadMasterKey = %d bytes, %v", len(key), err)
	}
	before, _ := os.ReadFile(path)
	if err := secret.GenerateMasterKeyFile(path); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("second GenerateMasterKeyFile: %v, want refusal", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("refused GenerateMasterKeyFile changed the file")
	}

	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := secret.LoadMasterKey(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: LoadMasterKey = %v, want a refusal saying chmod 600", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := secret.LoadMasterKey(path); err != nil {
		t.Errorf("mode 0400: %v", err)
	}

	hexPath := filepath.Join(dir, "hex.key")
	if err := os.WriteFile(hexPath, []byte(hex.EncodeToString(keyB)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if key, err := secret.LoadMasterKey(hexPath); err != nil || !bytes.Equal(key, keyB) {
		t.Errorf("hex file: %x, %v", key, err)
	}
	bigPath := filepath.Join(dir, "big.key")
	if err := os.WriteFile(bigPath, bytes.Repeat([]byte("a"), 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := secret.LoadMasterKey(bigPath); err == nil {
		t.Error("LoadMasterKey of a 2000-byte file succeeded")
	}
	if _, err := secret.LoadMasterKey(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}
