package secret

import (
	"bytes"
	"fmt"
)

const (
	magic       = "PKDS"
	version     = 1
	nonceSize   = 12
	tagSize     = 16
	wrappedSize = KeySize + tagSize
)

// MaxPlaintextSize bounds what Seal accepts: secrets are small, and a
// bound keeps a bad caller from storing megabytes in a row.
const MaxPlaintextSize = 1 << 20

// AAD returns the associated data for a value stored in column of the
// row identified by row in table: "table/row/column".
func AAD(table, row, column string) string { return table + "/" + row + "/" + column }

// Seal encrypts plaintext under a fresh data key wrapped by the primary
// master key, binding aad (see AAD). Two seals of the same plaintext
// differ.
func (k *Keyring) Seal(plaintext []byte, aad string) ([]byte, error) {
	if len(plaintext) > MaxPlaintextSize {
		return nil, fmt.Errorf("secret: seal: value of %d bytes exceeds %d", len(plaintext), MaxPlaintextSize)
	}
	keyID, master := k.primaryKey()
	if master == nil {
		return nil, fmt.Errorf("secret: seal: keyring has no primary key")
	}
	header := make([]byte, 0, len(magic)+2+len(keyID))
	header = append(header, magic...)
	header = append(header, version, byte(len(keyID)))
	header = append(header, keyID...)
	ad := append(bytes.Clone(header), aad...)

	dataKey := randomBytes(KeySize)
	data, err := newGCM(dataKey)
	if err != nil {
		return nil, fmt.Errorf("secret: seal: %w", err)
	}
	out := make([]byte, 0, len(header)+2*nonceSize+wrappedSize+len(plaintext)+tagSize)
	out = append(out, header...)
	wrapNonce := randomBytes(nonceSize)
	out = append(out, wrapNonce...)
	out = master.Seal(out, wrapNonce, dataKey, ad)
	clear(dataKey)
	dataNonce := randomBytes(nonceSize)
	out = append(out, dataNonce...)
	out = data.Seal(out, dataNonce, plaintext, ad)
	return out, nil
}

// Open decrypts a value sealed by Seal with the same aad. Its errors wrap
// ErrBadHeader, ErrUnknownKey or ErrAuth, and never hold key material or
// plaintext.
func (k *Keyring) Open(sealed []byte, aad string) ([]byte, error) {
	keyID, header, rest, err := parseHeader(sealed)
	if err != nil {
		return nil, fmt.Errorf("secret: open: %w", err)
	}
	master, ok := k.lookup(keyID)
	if !ok {
		return nil, fmt.Errorf("secret: open: %w %q (keyring holds %v)", ErrUnknownKey, keyID, k.KeyIDs())
	}
	if len(rest) < 2*nonceSize+wrappedSize+tagSize {
		return nil, fmt.Errorf("secret: open: %w: value is truncated", ErrBadHeader)
	}
	ad := append(bytes.Clone(header), aad...)
	wrapNonce, rest := rest[:nonceSize], rest[nonceSize:]
	wrapped, rest := rest[:wrappedSize], rest[wrappedSize:]
	dataNonce, ct := rest[:nonceSize], rest[nonceSize:]
	dataKey, err := master.Open(nil, wrapNonce, wrapped, ad)
	if err != nil {
		return nil, fmt.Errorf("secret: open with key %s: %w", keyID, ErrAuth)
	}
	defer clear(dataKey)
	data, err := newGCM(dataKey)
	if err != nil {
		return nil, fmt.Errorf("secret: open: %w", err)
	}
	pt, err := data.Open(nil, dataNonce, ct, ad)
	if err != nil {
		return nil, fmt.Errorf("secret: open with key %s: %w", keyID, ErrAuth)
	}
	return pt, nil
}

// SealedKeyID returns the ID of the master key a sealed value was sealed
// under, to find values a rotation still has to rewrap.
func SealedKeyID(sealed []byte) (string, error) {
	id, _, _, err := parseHeader(sealed)
	if err != nil {
		return "", fmt.Errorf("secret: %w", err)
	}
	return id, nil
}

// Rewrap opens sealed and seals it again under the primary key (same aad).
// A value already under the primary key is returned unchanged.
func (k *Keyring) Rewrap(sealed []byte, aad string) ([]byte, error) {
	id, err := SealedKeyID(sealed)
	if err != nil {
		return nil, err
	}
	if id == k.Primary() {
		// Still check it opens: a rewrap pass is also an integrity pass.
		pt, err := k.Open(sealed, aad)
		clear(pt)
		if err != nil {
			return nil, err
		}
		return sealed, nil
	}
	pt, err := k.Open(sealed, aad)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	return k.Seal(pt, aad)
}

func parseHeader(b []byte) (keyID string, header, rest []byte, err error) {
	if len(b) < len(magic)+2 || string(b[:len(magic)]) != magic {
		return "", nil, nil, ErrBadHeader
	}
	if b[len(magic)] != version {
		return "", nil, nil, fmt.Errorf("%w: version %d", ErrBadHeader, b[len(magic)])
	}
	n := int(b[len(magic)+1])
	end := len(magic) + 2 + n
	if n == 0 || n > MaxKeyIDLength || len(b) < end {
		return "", nil, nil, fmt.Errorf("%w: bad key ID length", ErrBadHeader)
	}
	keyID = string(b[len(magic)+2 : end])
	if checkKeyID(keyID) != nil {
		return "", nil, nil, fmt.Errorf("%w: bad key ID", ErrBadHeader)
	}
	return keyID, b[:end], b[end:], nil
}
