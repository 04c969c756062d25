package graph

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestDecodeBase64Tolerant(t *testing.T) {
	tests := []struct {
		in      string
		want    []byte
		wantErr bool
	}{
		{in: "-_8", want: []byte{0xfb, 0xff}},
		{in: "+/8=", want: []byte{0xfb, 0xff}},
		{in: "+/8", want: []byte{0xfb, 0xff}},
		{in: "AQID", want: []byte{1, 2, 3}},
		{in: "AQIDBA==", want: []byte{1, 2, 3, 4}},
		{in: "AQIDBA2", want: []byte{1, 2, 3, 4}},           // .NET: two '=' become "2"
		{in: "AQIDBAU1", want: []byte{1, 2, 3, 4, 5, 0x35}}, // "1" (one '=') makes a valid length: kept as data
		{in: "AQID0", want: []byte{1, 2, 3}},                // .NET: no padding becomes "0"
		{in: "AQIDBA1", wantErr: true},                      // digit disagrees with the length
		{in: "", wantErr: true},
		{in: "=", wantErr: true},
		{in: "AQIDBA===", wantErr: true},
		{in: "AQ=ID", wantErr: true},
		{in: "A", wantErr: true},
		{in: "AB", wantErr: true}, // non-canonical trailing bits
		{in: "not base64!", wantErr: true},
	}
	for _, tt := range tests {
		got, err := DecodeBase64Tolerant(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("DecodeBase64Tolerant(%q) = %x, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("DecodeBase64Tolerant(%q) = %x, %v; want %x", tt.in, got, err, tt.want)
		}
	}
}

func TestDecodeBase64TolerantDotNetForm(t *testing.T) {
	// Every length: the .NET token form of b decodes back to b.
	for n := 1; n <= 64; n++ {
		b := bytes.Repeat([]byte{0xA5}, n)
		std := base64.URLEncoding.EncodeToString(b)
		trimmed := strings.TrimRight(std, "=")
		dotnet := trimmed + string(rune('0'+len(std)-len(trimmed)))
		got, err := DecodeBase64Tolerant(dotnet)
		// A "1" suffix yields a valid length and is read as data first:
		// the documented rule accepts that ambiguity rather than break
		// valid IDs that end in a digit.
		if strings.HasSuffix(dotnet, "1") {
			continue
		}
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("n=%d %q: got %x, %v", n, dotnet, got, err)
		}
	}
}

func FuzzDecodeBase64Tolerant(f *testing.F) {
	for _, s := range []string{"-_8", "+/8=", "AQIDBA2", "AQID0", "Y3JlZC1pZA2", "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0", "", "==", "A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeBase64Tolerant(s)
		if err != nil {
			return
		}
		if len(b) == 0 {
			t.Fatalf("%q decoded to nothing without an error", s)
		}
		enc := EncodeBase64URL(b)
		if strings.ContainsAny(enc, "+/=") {
			t.Fatalf("EncodeBase64URL(%x) = %q is not unpadded base64url", b, enc)
		}
		// Round trip: the canonical encoding decodes to the same bytes
		// and is itself a fixed point.
		b2, err := DecodeBase64Tolerant(enc)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("round trip of %q: %x -> %q -> %x, %v", s, b, enc, b2, err)
		}
		// A canonical input is returned unchanged by decode+encode.
		if canon, err := base64.RawURLEncoding.Strict().DecodeString(s); err == nil && len(canon) > 0 && enc != s {
			t.Fatalf("canonical %q re-encoded as %q", s, enc)
		}
	})
}

// A canonical string is recognised exactly when decoding and encoding it
// gives it back, which is what buildCreateBody's shortcut relies on.
func FuzzCanonicalBase64URL(f *testing.F) {
	for _, s := range []string{"", "A", "AA", "AB", "AAA", "AAB", "AAAA", "Zm9vYmFy", "Zm9vYg", "Zm9vYh", "a+b/", "YQ==", "YQ1", "-_-_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeBase64Tolerant(s)
		roundTrips := err == nil && EncodeBase64URL(b) == s
		if got := isCanonicalBase64URL(s); got != roundTrips {
			t.Fatalf("isCanonicalBase64URL(%q) = %v, but decode+encode gives %v", s, got, roundTrips)
		}
	})
}
