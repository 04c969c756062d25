package authenticator

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"

	passkeyd "github.com/passkeyd/passkeyd"
	"golang.org/x/crypto/scrypt"
)

// Keystore file layout, version 1 (all integers big-endian):
//
//	magic     8  "PKDKSTOR"
//	version   1  1
//	kdf       1  1 = scrypt
//	logN      1  scrypt cost, N = 2^logN
//	r         4  scrypt block size
//	p         4  scrypt parallelism
//	salt     32
//	check    32  SHA-256 of the second half of the derived key
//	crc       4  CRC-32 (IEEE) of all the bytes above
//	nonce    12  AES-GCM nonce, fresh on every save
//	sealed    …  AES-256-GCM(state JSON), additional data = all bytes above
//
// The KDF parameters live in the header so that they can be raised later
// without breaking old files. The check value tells a wrong passphrase
// from a damaged ciphertext; the CRC tells a damaged header from a wrong
// passphrase. Neither weakens the encryption: anyone holding the file can
// already test passphrases against the GCM tag.
const (
	keystoreMagic   = "PKDKSTOR"
	keystoreVersion = 1
	kdfScrypt       = 1
	saltLen         = 32
	checkLen        = 32
	nonceLen        = 12
	headerLen       = 8 + 1 + 1 + 1 + 4 + 4 + saltLen + checkLen + 4
	aadLen          = headerLen + nonceLen

	// maxKeystoreSize bounds what Open reads; a keystore with a thousand
	// credentials is well under 2 MiB.
	maxKeystoreSize = 64 << 20
	// minPassphraseLen is the floor; callers may demand more.
	minPassphraseLen = 8
	// maxScryptMemory bounds 128·r·N so that a crafted header cannot make
	// Open allocate unbounded memory.
	maxScryptMemory = 1 << 30
)

// ScryptParams are the scrypt cost parameters of a keystore.
type ScryptParams struct {
	LogN uint8  // N = 2^LogN
	R    uint32 // block size
	P    uint32 // parallelism
}

// DefaultScryptParams returns the cost Create uses: N=2^16, r=8, p=1 —
// 64 MiB and roughly a fifth of a second per unlock on a laptop.
func DefaultScryptParams() ScryptParams { return ScryptParams{LogN: 16, R: 8, P: 1} }

func (p ScryptParams) validate() error {
	if p.LogN < 10 || p.LogN > 24 || p.R < 1 || p.R > 64 || p.P < 1 || p.P > 16 {
		return fmt.Errorf("scrypt parameters out of range: logN=%d r=%d p=%d", p.LogN, p.R, p.P)
	}
	if 128*uint64(p.R)*(uint64(1)<<p.LogN) > maxScryptMemory {
		return fmt.Errorf("scrypt parameters need more than %d bytes", maxScryptMemory)
	}
	return nil
}

// keyfile is the keystore behind an Authenticator. The derived key lives
// only here, in memory.
type keyfile struct {
	path   string
	header []byte // headerLen bytes, fixed for the key
	aead   cipher.AEAD
}

// String keeps the key out of any accidental print.
func (k *keyfile) String() string { return "keystore " + k.path }

// GoString implements fmt.GoStringer (%#v) like String.
func (k *keyfile) GoString() string { return k.String() }

const (
	opCreate = "authenticator.Create"
	opOpen   = "authenticator.Open"
	opSave   = "authenticator.Save"
)

// Create makes a new, empty keystore at path (mode 0600) protected by
// passphrase and returns its authenticator. It refuses to overwrite an
// existing file (ErrKeystoreExists).
func Create(path string, passphrase passkeyd.Secret, opts ...Option) (*Authenticator, error) {
	a := New(opts...)
	if len(passphrase.Reveal()) < minPassphraseLen {
		return nil, newError(passkeyd.EInvalid, opCreate, ErrInvalidOptions,
			fmt.Sprintf("the keystore passphrase must have at least %d characters", minPassphraseLen))
	}
	if err := a.kdf.validate(); err != nil {
		return nil, newError(passkeyd.EInvalid, opCreate, err, "invalid key derivation parameters")
	}
	salt, err := randomBytes(a.rand, saltLen)
	if err != nil {
		return nil, newError(passkeyd.EInternal, opCreate, err, "cannot create keystore salt")
	}
	kf, err := deriveKeyfile(path, passphrase, a.kdf, salt)
	if err != nil {
		return nil, newError(passkeyd.EInternal, opCreate, err, "cannot derive keystore key")
	}
	// Claim the name first so that two Creates cannot both succeed; the
	// atomic write below then replaces the empty placeholder.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, newError(passkeyd.EConflict, opCreate, ErrKeystoreExists,
			fmt.Sprintf("keystore %s already exists", path))
	}
	if err != nil {
		return nil, newError(passkeyd.EInternal, opCreate, err, "cannot create keystore file")
	}
	f.Close()
	a.store = kf
	if err := a.persistLocked(); err != nil {
		os.Remove(path)
		return nil, err
	}
	a.log.Info("keystore created", "path", path)
	return a, nil
}

// Open unlocks the keystore at path. The file is not locked: one process
// at a time may use a keystore (the provider CLI runs one command at a
// time); two writers would each keep their own state and the last save
// would win. A wrong passphrase yields
// ErrWrongPassphrase; a truncated or altered file ErrCorruptKeystore; a
// newer format ErrUnsupportedKeystore. Options other than the KDF cost
// apply as for New.
func Open(path string, passphrase passkeyd.Secret, opts ...Option) (*Authenticator, error) {
	a := New(opts...)
	raw, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	st, kf, err := unseal(path, raw, passphrase)
	if err != nil {
		return nil, err
	}
	creds, err := st.decode()
	if err != nil {
		return nil, newError(passkeyd.EInvalid, opOpen, fmt.Errorf("%w: %v", ErrCorruptKeystore, err),
			"the keystore content is damaged")
	}
	a.creds, a.data, a.store = creds, st.Data, kf
	if a.data == nil {
		a.data = map[string]string{}
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		// The content is encrypted, but others may copy it to attack the
		// passphrase offline; the next save restores 0600.
		a.log.Warn("keystore file is accessible to other users", "path", path, "mode", fi.Mode().Perm().String())
	}
	a.log.Info("keystore opened", "path", path, "credentials", len(creds))
	return a, nil
}

// Save writes the state to the keystore. Every change (MakeCredential,
// GetAssertion, SetMethodID, Discard, SetData) already saves; Save is for
// callers that want to be sure. It is a no-op for an authenticator from New.
func (a *Authenticator) Save() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.persistLocked()
}

// Path returns the keystore file, "" for an in-memory authenticator.
func (a *Authenticator) Path() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.store == nil {
		return ""
	}
	return a.store.path
}

// ChangePassphrase re-encrypts the keystore under a new passphrase, with a
// new salt and the cost set by WithScryptParams (DefaultScryptParams when
// not set), which is how an old keystore's cost gets raised.
func (a *Authenticator) ChangePassphrase(passphrase passkeyd.Secret) error {
	const op = "authenticator.ChangePassphrase"
	if len(passphrase.Reveal()) < minPassphraseLen {
		return newError(passkeyd.EInvalid, op, ErrInvalidOptions,
			fmt.Sprintf("the keystore passphrase must have at least %d characters", minPassphraseLen))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.store == nil {
		return newError(passkeyd.EInvalid, op, nil, "the authenticator has no keystore")
	}
	salt, err := randomBytes(a.rand, saltLen)
	if err != nil {
		return newError(passkeyd.EInternal, op, err, "cannot create keystore salt")
	}
	kf, err := deriveKeyfile(a.store.path, passphrase, a.kdf, salt)
	if err != nil {
		return newError(passkeyd.EInternal, op, err, "cannot derive keystore key")
	}
	old := a.store
	a.store = kf
	if err := a.persistLocked(); err != nil {
		a.store = old
		return err
	}
	return nil
}

// persistLocked saves the state when there is a keystore; a.mu must be held.
func (a *Authenticator) persistLocked() error {
	if a.store == nil {
		return nil
	}
	plain, err := encodeState(a.creds, a.data)
	if err != nil {
		return newError(passkeyd.EInternal, opSave, err, "cannot encode keystore")
	}
	defer clear(plain)
	nonce, err := randomBytes(a.rand, nonceLen)
	if err != nil {
		return newError(passkeyd.EInternal, opSave, err, "cannot create keystore nonce")
	}
	aad := append(append(make([]byte, 0, aadLen), a.store.header...), nonce...)
	out := a.store.aead.Seal(aad, nonce, plain, aad)
	if err := writeFileAtomic(a.store.path, out); err != nil {
		return newError(passkeyd.EInternal, opSave, err, "cannot write keystore")
	}
	return nil
}

// deriveKeyfile derives the keystore key and builds the header.
func deriveKeyfile(path string, passphrase passkeyd.Secret, p ScryptParams, salt []byte) (*keyfile, error) {
	key, check, err := deriveKey(passphrase, p, salt)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	h := make([]byte, 0, headerLen)
	h = append(h, keystoreMagic...)
	h = append(h, keystoreVersion, kdfScrypt, p.LogN)
	h = binary.BigEndian.AppendUint32(h, p.R)
	h = binary.BigEndian.AppendUint32(h, p.P)
	h = append(h, salt...)
	h = append(h, check...)
	h = binary.BigEndian.AppendUint32(h, crc32.ChecksumIEEE(h))
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &keyfile{path: path, header: h, aead: aead}, nil
}

// deriveKey runs scrypt for 64 bytes: the first half is the AES key, the
// second half is hashed into the stored check value.
func deriveKey(passphrase passkeyd.Secret, p ScryptParams, salt []byte) (key, check []byte, err error) {
	dk, err := scrypt.Key([]byte(passphrase.Reveal()), salt, 1<<p.LogN, int(p.R), int(p.P), 64)
	if err != nil {
		return nil, nil, fmt.Errorf("scrypt: %w", err)
	}
	sum := sha256.Sum256(dk[32:])
	key = append([]byte(nil), dk[:32]...)
	clear(dk)
	return key, sum[:], nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, nil
}

// unseal checks the header, derives the key and decrypts the state.
func unseal(path string, raw []byte, passphrase passkeyd.Secret) (*state, *keyfile, error) {
	corrupt := func(why string) error {
		return newError(passkeyd.EInvalid, opOpen, fmt.Errorf("%w: %s", ErrCorruptKeystore, why),
			fmt.Sprintf("keystore %s is damaged or not a passkeyd keystore (%s)", path, why))
	}
	if len(raw) < aadLen+16 {
		return nil, nil, corrupt("file too short")
	}
	if string(raw[:8]) != keystoreMagic {
		return nil, nil, corrupt("bad magic")
	}
	h := raw[:headerLen]
	if crc32.ChecksumIEEE(h[:headerLen-4]) != binary.BigEndian.Uint32(h[headerLen-4:]) {
		return nil, nil, corrupt("header checksum mismatch")
	}
	if h[8] != keystoreVersion || h[9] != kdfScrypt {
		return nil, nil, newError(passkeyd.EInvalid, opOpen, ErrUnsupportedKeystore,
			fmt.Sprintf("keystore %s has version %d, KDF %d; this build reads version %d with scrypt",
				path, h[8], h[9], keystoreVersion))
	}
	p := ScryptParams{LogN: h[10], R: binary.BigEndian.Uint32(h[11:15]), P: binary.BigEndian.Uint32(h[15:19])}
	if err := p.validate(); err != nil {
		return nil, nil, corrupt(err.Error())
	}
	salt := h[19 : 19+saltLen]
	wantCheck := h[19+saltLen : 19+saltLen+checkLen]
	key, check, err := deriveKey(passphrase, p, salt)
	if err != nil {
		return nil, nil, newError(passkeyd.EInternal, opOpen, err, "cannot derive keystore key")
	}
	defer clear(key)
	if subtle.ConstantTimeCompare(check, wantCheck) != 1 {
		return nil, nil, newError(passkeyd.EUnauthorized, opOpen, ErrWrongPassphrase,
			"wrong keystore passphrase")
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, nil, newError(passkeyd.EInternal, opOpen, err, "cannot set up keystore cipher")
	}
	aad := raw[:aadLen]
	plain, err := aead.Open(nil, raw[headerLen:aadLen], raw[aadLen:], aad)
	if err != nil {
		return nil, nil, corrupt("content fails authentication")
	}
	defer clear(plain)
	st, err := decodeState(plain)
	if err != nil {
		return nil, nil, corrupt(err.Error())
	}
	return st, &keyfile{path: path, header: append([]byte(nil), h...), aead: aead}, nil
}

// readLimited reads the keystore file, refusing anything larger than
// maxKeystoreSize.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		code := passkeyd.EInternal
		if errors.Is(err, fs.ErrNotExist) {
			code = passkeyd.ENotFound
		}
		return nil, newError(code, opOpen, err, fmt.Sprintf("cannot open keystore %s", path))
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxKeystoreSize+1))
	if err != nil {
		return nil, newError(passkeyd.EInternal, opOpen, err, fmt.Sprintf("cannot read keystore %s", path))
	}
	if len(raw) > maxKeystoreSize {
		return nil, newError(passkeyd.EInvalid, opOpen, ErrCorruptKeystore,
			fmt.Sprintf("keystore %s is larger than %d bytes", path, maxKeystoreSize))
	}
	return raw, nil
}
