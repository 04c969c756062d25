// Package secret seals secrets at rest (client secrets, certificate keys,
// PKCS#12 passwords) with envelope encryption under a master key.
//
// # Format
//
// Each value gets a fresh random 32-byte data key. The plaintext is sealed
// with AES-256-GCM under the data key; the data key is sealed
// ("wrapped") with AES-256-GCM under the master key. Both seals bind the
// header and the caller's associated data, so a value copied to another
// row or column, or a header edited to name another key, fails to open.
// The stored bytes are:
//
//	magic "PKDS" | version 0x01 | key ID length (1 byte) | key ID |
//	wrap nonce (12) | wrapped data key (32 + 16 tag) |
//	data nonce (12) | ciphertext + tag (16)
//
// The associated data of both seals is header || aad, where header is
// everything up to and including the key ID.
//
// # Associated data convention
//
// Callers pass "table/row/column" as aad, for example
// "connectors/default/client_secret": a value opens only where it was
// sealed. AAD builds it.
//
// # Master keys
//
// A master key is 32 random bytes, kept in a file (64 hex characters or
// base64, mode 0600) or in an environment variable. Its ID is the first 8
// hex characters of SHA-256 of the key (KeyID), written in every header, so
// that after a rotation the keyring knows which key opens which value. A
// Keyring holds several keys, one primary for new seals; Rewrap moves a
// value to the primary key.
package secret
