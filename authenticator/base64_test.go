package authenticator

import (
	"bytes"
	"encoding/base64"
	"testing"
)

func TestDecodeID(t *testing.T) {
	b32 := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11)[:32] // encodes with + / and - _
	b33 := append(bytes.Clone(b32), 0xfe)
	b16 := b32[:16]
	b30 := b32[:30] // no padding at all: the .NET digit is 0
	tests := []struct {
		name string
		in   string
		want []byte
	}{
		{"base64url", base64.RawURLEncoding.EncodeToString(b32), b32},
		{"base64url padded", base64.URLEncoding.EncodeToString(b32), b32},
		{"standard", base64.StdEncoding.EncodeToString(b32), b32},
		{"standard unpadded", base64.RawStdEncoding.EncodeToString(b32), b32},
		{".NET digit 2", base64.RawURLEncoding.EncodeToString(b16) + "2", b16},
		{".NET digit 0", base64.RawURLEncoding.EncodeToString(b30) + "0", b30},
		// A genuine encoding that ends in a digit must not lose it: the
		// eager digit rule broke about 1 user in 50.
		{"ends in a digit", base64.RawURLEncoding.EncodeToString([]byte{0xd7, 0x6d, 0xf8, 0xe7, 0xae, 0xfc, 0xf7, 0x4d, 0x35}), []byte{0xd7, 0x6d, 0xf8, 0xe7, 0xae, 0xfc, 0xf7, 0x4d, 0x35}},
		{"33 bytes", base64.RawURLEncoding.EncodeToString(b33), b33},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeID(tc.in)
			if err != nil {
				t.Fatalf("DecodeID(%q): %v", tc.in, err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("DecodeID(%q) = %x, want %x", tc.in, got, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "!!!!", "A", "AAAAA", string(bytes.Repeat([]byte("A"), maxIDLength+1))} {
		if _, err := DecodeID(bad); err == nil {
			t.Errorf("DecodeID(%.10q) succeeded", bad)
		}
	}
}

// TestIDCandidatesDigitOne covers the case DecodeID cannot settle alone:
// a 32-byte ID plus the digit 1 is itself a valid 44-character encoding.
func TestIDCandidatesDigitOne(t *testing.T) {
	id := bytes.Repeat([]byte{0x42}, 32)
	enc := EncodeID(id) + "1"
	found := false
	for _, c := range IDCandidates(enc) {
		found = found || bytes.Equal(c, id)
	}
	if !found {
		t.Errorf("IDCandidates(%q) misses the 32-byte ID", enc)
	}
	if got := IDCandidates(EncodeID(id)); len(got) != 1 || !bytes.Equal(got[0], id) {
		t.Errorf("plain encoding yields %d candidates", len(got))
	}
}

func TestEncodeID(t *testing.T) {
	if got := EncodeID([]byte{0xfb, 0xff}); got != "-_8" {
		t.Errorf("EncodeID = %q, want base64url without padding", got)
	}
}
