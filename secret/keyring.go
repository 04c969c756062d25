package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
)

// KeySize is the size of master and data keys: AES-256.
const KeySize = 32

// MaxKeyIDLength bounds key IDs, which are written into every header.
const MaxKeyIDLength = 64

// Errors of Open, to be tested with errors.Is.
var (
	// ErrBadHeader: the value is not something Seal produced (too short,
	// wrong magic, unknown version).
	ErrBadHeader = errors.New("not a sealed value or unknown format")
	// ErrUnknownKey: the value was sealed under a master key the keyring
	// does not hold.
	ErrUnknownKey = errors.New("sealed under an unknown master key")
	// ErrAuth: authentication failed; the message says the two usual
	// causes.
	ErrAuth = errors.New("wrong key or the value was moved to another row")
)

// KeyID returns the ID of a master key: the first 8 hex characters of
// SHA-256 of the key. It identifies the key without revealing it.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// Keyring holds master keys by ID, one of them primary. It is safe for
// concurrent use, so keys can be added and the primary switched while
// the server runs.
type Keyring struct {
	mu      sync.RWMutex
	keys    map[string]cipher.AEAD
	primary string
}

// NewKeyring returns a keyring holding key under keyID, as primary.
func NewKeyring(keyID string, key []byte) (*Keyring, error) {
	k := &Keyring{keys: map[string]cipher.AEAD{}}
	if err := k.Add(keyID, key); err != nil {
		return nil, err
	}
	k.primary = keyID
	return k, nil
}

// Add adds a master key. Adding an ID that is already held fails, so a
// rotation cannot silently replace the key that opens existing values.
func (k *Keyring) Add(keyID string, key []byte) error {
	if err := checkKeyID(keyID); err != nil {
		return err
	}
	if len(key) != KeySize {
		return fmt.Errorf("secret: master key %s must be %d bytes, not %d", keyID, KeySize, len(key))
	}
	aead, err := newGCM(key)
	if err != nil {
		return fmt.Errorf("secret: master key %s: %w", keyID, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.keys[keyID]; ok {
		return fmt.Errorf("secret: keyring already holds a master key with ID %s", keyID)
	}
	k.keys[keyID] = aead
	return nil
}

// SetPrimary makes the key keyID the one new values are sealed under.
func (k *Keyring) SetPrimary(keyID string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.keys[keyID]; !ok {
		return fmt.Errorf("secret: keyring holds no master key with ID %q", keyID)
	}
	k.primary = keyID
	return nil
}

// Primary returns the ID of the primary key.
func (k *Keyring) Primary() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.primary
}

// KeyIDs returns the IDs of all keys held, sorted.
func (k *Keyring) KeyIDs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// String describes the keyring without its keys.
func (k *Keyring) String() string {
	return fmt.Sprintf("secret.Keyring{primary: %s, keys: %v}", k.Primary(), k.KeyIDs())
}

// GoString is String, so %#v shows no key material.
func (k *Keyring) GoString() string { return k.String() }

// LogValue implements slog.LogValuer: key IDs only.
func (k *Keyring) LogValue() slog.Value {
	return slog.GroupValue(slog.String("primary", k.Primary()), slog.Any("keys", k.KeyIDs()))
}

func (k *Keyring) lookup(keyID string) (cipher.AEAD, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	aead, ok := k.keys[keyID]
	return aead, ok
}

func (k *Keyring) primaryKey() (string, cipher.AEAD) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.primary, k.keys[k.primary]
}

func checkKeyID(id string) error {
	if id == "" || len(id) > MaxKeyIDLength {
		return fmt.Errorf("secret: key ID must be 1 to %d characters", MaxKeyIDLength)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("secret: key ID %q may hold only letters, digits, '-', '_' and '.'", id)
		}
	}
	return nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// randomBytes returns n bytes from crypto/rand, which never fails on the
// platforms Go supports (it panics rather than return weak bytes).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
