package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	passkeyd "github.com/passkeyd/passkeyd"
)

// maxKeyFile bounds what is read from a key file; an Ed25519 PEM is about
// 120 bytes.
const maxKeyFile = 8 << 10

// LoadOrCreateCheckpointKey returns the Ed25519 key in the PEM (PKCS #8
// "PRIVATE KEY") file at path, creating the file with a new key, mode
// 0600, when there is none. An existing file readable by group or others
// is refused, as ssh refuses such keys. Creation is atomic (a temporary
// file linked into place), so two nodes starting together end with one
// key. Errors never contain key material.
func LoadOrCreateCheckpointKey(path string) (ed25519.PrivateKey, error) {
	key, err := loadCheckpointKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("audit: generate checkpoint key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("audit: encode checkpoint key: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".checkpoint-key-*")
	if err != nil {
		return nil, fmt.Errorf("audit: create checkpoint key: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600; say so rather than rely on it.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("audit: create checkpoint key: %w", err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("audit: write checkpoint key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("audit: sync checkpoint key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("audit: write checkpoint key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadCheckpointKey(path) // another process won the race
		}
		return nil, fmt.Errorf("audit: install checkpoint key: %w", err)
	}
	syncDir(dir)
	return priv, nil
}

func loadCheckpointKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit: open checkpoint key: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint key: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, passkeyd.Errorf(passkeyd.EInvalid, "checkpoint key %s has mode %#o: it must not be readable by group or others (chmod 600)", path, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoint key: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, passkeyd.Errorf(passkeyd.ETooLarge, "checkpoint key %s is larger than %d bytes", path, maxKeyFile)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, passkeyd.Errorf(passkeyd.EInvalid, `checkpoint key %s is not a PEM "PRIVATE KEY"`, path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		// The parser's message does not echo key bytes.
		return nil, passkeyd.WrapError(passkeyd.EInvalid, err, "checkpoint key %s is not PKCS #8", path)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, passkeyd.Errorf(passkeyd.EInvalid, "checkpoint key %s is not an Ed25519 key", path)
	}
	return key, nil
}

// MarshalCheckpointPublicKey returns pub as a PEM "PUBLIC KEY" (PKIX), to
// hand to auditors who verify checkpoints without the private key.
func MarshalCheckpointPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("audit: encode checkpoint public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParseCheckpointPublicKey reads the public key from PEM data: a "PUBLIC
// KEY" as MarshalCheckpointPublicKey writes, or the private key file
// itself (its public half is used).
func ParseCheckpointPublicKey(data []byte) (ed25519.PublicKey, error) {
	if len(data) > maxKeyFile {
		return nil, passkeyd.Errorf(passkeyd.ETooLarge, "checkpoint public key is larger than %d bytes", maxKeyFile)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, passkeyd.Errorf(passkeyd.EInvalid, "checkpoint public key is not PEM")
	}
	var parsed any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		parsed, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "PRIVATE KEY":
		var priv any
		if priv, err = x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			if k, ok := priv.(ed25519.PrivateKey); ok {
				parsed = k.Public()
			}
		}
	default:
		return nil, passkeyd.Errorf(passkeyd.EInvalid, `checkpoint public key is a PEM %q, want "PUBLIC KEY"`, block.Type)
	}
	if err != nil {
		return nil, passkeyd.WrapError(passkeyd.EInvalid, err, "checkpoint public key does not parse")
	}
	pub, ok := parsed.(ed25519.PublicKey)
	if !ok {
		return nil, passkeyd.Errorf(passkeyd.EInvalid, "checkpoint public key is not an Ed25519 key")
	}
	return pub, nil
}
