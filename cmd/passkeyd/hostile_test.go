package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/client"
)

// TestHostileAttestations sends malformed and malicious attestation
// objects through the device API: each is answered with a 4xx problem
// (never a 5xx or a crash), quickly, and nothing reaches Entra.
func TestHostileAttestations(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	b64 := base64.RawURLEncoding
	// decoded attestation object of a valid credential, to mutate
	parts := func(t *testing.T, c passkeyd.Credential) (map[string]cbor.RawMessage, []byte) {
		raw, _ := b64.DecodeString(c.AttestationObject)
		var ao map[string]cbor.RawMessage
		if err := cbor.Unmarshal(raw, &ao); err != nil {
			t.Fatal(err)
		}
		var ad []byte
		if err := cbor.Unmarshal(ao["authData"], &ad); err != nil {
			t.Fatal(err)
		}
		return ao, ad
	}
	rebuild := func(ao map[string]cbor.RawMessage, ad []byte) string {
		ao["authData"], _ = cbor.Marshal(ad)
		raw, _ := cbor.Marshal(ao)
		return b64.EncodeToString(raw)
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, c *passkeyd.Credential)
		detail string // part of the problem's detail, when it matters
	}{
		{"EC point off the curve", func(t *testing.T, c *passkeyd.Credential) {
			ao, ad := parts(t, *c)
			// The COSE key follows rpIdHash(32) flags(1) count(4)
			// aaguid(16) idLen(2) id; in CTAP2 canonical order y (-3) is
			// its last entry. Flip y's last byte.
			start := 55 + (int(ad[53])<<8 | int(ad[54]))
			var key cbor.RawMessage
			if err := cbor.NewDecoder(bytes.NewReader(ad[start:])).Decode(&key); err != nil {
				t.Fatal(err)
			}
			ad[start+len(key)-1] ^= 0x01
			c.AttestationObject = rebuild(ao, ad)
		}, "public key"},
		{"duplicate CBOR map keys", func(t *testing.T, c *passkeyd.Credential) {
			raw, _ := b64.DecodeString(c.AttestationObject)
			// {"fmt": "none", "fmt": "packed", ...}: a second fmt key.
			dup := append([]byte{raw[0] + 1}, raw[1:]...)
			dup = append(dup, 0x63, 'f', 'm', 't', 0x66, 'p', 'a', 'c', 'k', 'e', 'd')
			c.AttestationObject = b64.EncodeToString(dup)
		}, ""},
		{"indefinite-length map", func(t *testing.T, c *passkeyd.Credential) {
			raw, _ := b64.DecodeString(c.AttestationObject)
			ind := append([]byte{0xbf}, raw[1:]...)
			c.AttestationObject = b64.EncodeToString(append(ind, 0xff))
		}, ""},
		{"tagged attestation object", func(t *testing.T, c *passkeyd.Credential) {
			raw, _ := b64.DecodeString(c.AttestationObject)
			c.AttestationObject = b64.EncodeToString(append([]byte{0xd8, 0x18}, raw...))
		}, ""},
		{"deep nesting", func(t *testing.T, c *passkeyd.Credential) {
			deep := bytes.Repeat([]byte{0x81}, 10000) // [[[[…
			c.AttestationObject = b64.EncodeToString(append(deep, 0x00))
		}, ""},
		{"huge declared length", func(t *testing.T, c *passkeyd.Credential) {
			// a byte string claiming 2^62 bytes
			c.AttestationObject = b64.EncodeToString([]byte{0xa1, 0x68, 'a', 'u', 't', 'h', 'D', 'a', 't', 'a', 0x5b, 0x40, 0, 0, 0, 0, 0, 0, 0})
		}, ""},
		{"10 MB attestation object", func(t *testing.T, c *passkeyd.Credential) {
			c.AttestationObject = strings.Repeat("A", 10<<20)
		}, ""},
		{"BS without BE", func(t *testing.T, c *passkeyd.Credential) {
			ao, ad := parts(t, *c)
			ad[32] |= 0x10 // BS set, BE clear
			c.AttestationObject = rebuild(ao, ad)
		}, "backup state"},
		{"empty credential ID", func(t *testing.T, c *passkeyd.Credential) { c.ID = "" }, ""},
		{"1,024-byte credential ID", func(t *testing.T, c *passkeyd.Credential) {
			c.ID = b64.EncodeToString(bytes.Repeat([]byte{7}, 1024))
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eo, err := env.device.EnrollmentOptions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// A fresh authenticator per case: excludeCredentials would
			// otherwise refuse a second credential for the user.
			att, err := authenticator.New().MakeCredential(eo.PublicKey, authenticator.WithAttestationFormat(authenticator.FormatNone))
			if err != nil {
				t.Fatal(err)
			}
			cred := att.Credential()
			tc.tamper(t, &cred)
			_, err = env.device.CompleteEnrollment(ctx, eo.EnrollmentID, cred)
			var p *client.Problem
			if !errors.As(err, &p) {
				t.Fatalf("CompleteEnrollment = %v, want a problem", err)
			}
			if p.Status < 400 || p.Status >= 500 {
				t.Fatalf("status %d (%s), want a 4xx", p.Status, p.Detail)
			}
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q does not say %q", p.Detail, tc.detail)
			}
			if n := len(env.emu.Methods(env.tenant, env.upn)); n != 0 {
				t.Fatalf("%d methods in Entra after a hostile registration", n)
			}
		})
	}
}
