package secret

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// maxKeyFileSize bounds what LoadMasterKey reads: a key is 64 characters
// of hex or 44 of base64, plus a newline.
const maxKeyFileSize = 1024

// LoadMasterKey reads a master key file: 32 bytes written as 64 hex
// characters or as base64 (standard or URL alphabet, padded or not),
// surrounding whitespace ignored. A file that group or others may read or
// write is refused: the key would not be secret.
func LoadMasterKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret: master key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret: master key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("secret: master key file %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("secret: master key file %s has mode %04o: it must not be accessible by group or others; run: chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("secret: read master key file %s: %w", path, err)
	}
	if len(b) > maxKeyFileSize {
		return nil, fmt.Errorf("secret: master key file %s is larger than %d bytes: not a key file", path, maxKeyFileSize)
	}
	key, err := decodeKey(string(b))
	clear(b)
	if err != nil {
		return nil, fmt.Errorf("secret: master key file %s: %w", path, err)
	}
	return key, nil
}

// MasterKeyFromEnv decodes a master key given in an environment variable
// (PASSKEYD_MASTER_KEY), in the same encodings as the key file. Errors
// never repeat the value.
func MasterKeyFromEnv(value string) ([]byte, error) {
	key, err := decodeKey(value)
	if err != nil {
		return nil, fmt.Errorf("secret: master key from environment: %w", err)
	}
	return key, nil
}

// GenerateMasterKeyFile writes a new random master key to path, base64
// encoded, with mode 0600. It refuses to overwrite an existing file: that
// would make every value sealed under the old key unreadable.
func GenerateMasterKeyFile(path string) error {
	key := randomBytes(KeySize)
	defer clear(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("secret: refusing to overwrite existing master key file %s", path)
	}
	if err != nil {
		return fmt.Errorf("secret: create master key file: %w", err)
	}
	_, err = io.WriteString(f, base64.StdEncoding.EncodeToString(key)+"\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("secret: write master key file %s: %w", path, err)
	}
	return nil
}

// decodeKey accepts 64 hex characters or base64 of 32 bytes. Its errors
// say what was wrong with the shape, never the content.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("master key is empty")
	}
	if len(s) == hex.EncodedLen(KeySize) {
		if key, err := hex.DecodeString(s); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("master key decodes to %d bytes, want %d (generate one with: openssl rand -base64 32)", len(key), KeySize)
		}
		return key, nil
	}
	return nil, fmt.Errorf("master key must be %d bytes written as %d hex characters or as base64 (generate one with: openssl rand -base64 32)", KeySize, hex.EncodedLen(KeySize))
}
