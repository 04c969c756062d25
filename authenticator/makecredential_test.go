package authenticator

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"
	passkeyd "github.com/passkeyd/passkeyd"
)

func TestMakeCredentialVerifiesWithGoWebAuthn(t *testing.T) {
	for _, format := range []AttestationFormat{FormatPacked, FormatNone} {
		t.Run(string(format), func(t *testing.T) {
			a := newTestAuth(t, 1)
			challenge := testChallenge(1)
			at := mustMake(t, a, entraOptions(t, challenge, nil), WithAttestationFormat(format))
			pcc := verifyAttestation(t, at, challenge)

			ao := pcc.Response.AttestationObject
			mustEqual(t, "fmt", ao.Format, string(format))
			f := ao.AuthData.Flags
			mustEqual(t, "UP", f.HasUserPresent(), true)
			mustEqual(t, "UV", f.HasUserVerified(), true)
			mustEqual(t, "AT", f.HasAttestedCredentialData(), true)
			mustEqual(t, "ED", f.HasExtensions(), true)
			mustEqual(t, "BE", f.HasBackupEligible(), false)
			mustEqual(t, "BS", f.HasBackupState(), false)
			mustEqual(t, "sign count", ao.AuthData.Counter, uint32(0))
			mustEqual(t, "AAGUID", uuid.UUID(ao.AuthData.AttData.AAGUID).String(), DefaultAAGUID)
			if !bytes.Equal(ao.AuthData.AttData.CredentialID, at.CredentialID) || len(at.CredentialID) < 32 {
				t.Errorf("credential ID in authData %x, returned %x", ao.AuthData.AttData.CredentialID, at.CredentialID)
			}
			if format == FormatPacked {
				mustEqual(t, "attStmt alg", ao.AttStatement["alg"], any(int64(-7)))
			} else if len(ao.AttStatement) != 0 {
				t.Errorf("none attestation has statement %v", ao.AttStatement)
			}
			info, ok := a.Credential(at.CredentialID)
			if !ok {
				t.Fatal("credential not held after MakeCredential")
			}
			mustEqual(t, "user ID", info.UserID, testUserID)
			if h, _ := DecodeID(testUserID); !bytes.Equal(info.UserHandle, h) {
				t.Errorf("user handle %x, want %x", info.UserHandle, h)
			}
			mustEqual(t, "user name", info.UserName, testUserName)
			mustEqual(t, "created", info.CreatedAt, testNow)
			mustEqual(t, "alg", info.Algorithm, AlgES256)
		})
	}
}

func TestMakeCredentialClientDataExact(t *testing.T) {
	a := newTestAuth(t, 2)
	at := mustMake(t, a, entraOptions(t, "abc-_DEF", nil))
	want := `{"type":"webauthn.create","challenge":"abc-_DEF","origin":"https://login.microsoft.com","crossOrigin":false}`
	mustEqual(t, "clientDataJSON", string(at.ClientDataJSON), want)

	at = mustMake(t, a, entraOptions(t, "xyz", nil), WithOrigin("https://example.org"))
	var cd map[string]any
	if err := json.Unmarshal(at.ClientDataJSON, &cd); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "origin option", cd["origin"], any("https://example.org"))
}

func TestMakeCredentialExtensions(t *testing.T) {
	tests := []struct {
		name       string
		ext        map[string]any
		wantAuth   map[string]any // authenticator extension outputs; nil = ED clear
		wantClient string
	}{
		{"entra", map[string]any{"hmacCreateSecret": true, "credentialProtectionPolicy": "userVerificationOptional",
			"enforceCredentialProtectionPolicy": true},
			map[string]any{"hmac-secret": true, "credProtect": uint64(1)}, `{"hmacCreateSecret":true}`},
		{"credProtect 2", map[string]any{"credentialProtectionPolicy": "userVerificationOptionalWithCredentialIDList"},
			map[string]any{"credProtect": uint64(2)}, `{}`},
		{"credProtect 3", map[string]any{"credentialProtectionPolicy": "userVerificationRequired"},
			map[string]any{"credProtect": uint64(3)}, `{}`},
		{"hmac false", map[string]any{"hmacCreateSecret": false}, nil, `{}`},
		{"unknown policy not enforced", map[string]any{"credentialProtectionPolicy": "somethingNew"}, nil, `{}`},
		{"credProps", map[string]any{"credProps": true}, nil, `{"credProps":{"rk":true}}`},
		{"none", nil, nil, `{}`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestAuth(t, uint64(10+i))
			opts := entraOptions(t, "Y2hhbGxlbmdl", func(m map[string]any) {
				if tc.ext == nil {
					delete(m, "extensions")
				} else {
					m["extensions"] = tc.ext
				}
			})
			at := mustMake(t, a, opts)
			mustEqual(t, "client extension results", string(at.ClientExtensionResults), tc.wantClient)
			pcc := verifyAttestation(t, at, "Y2hhbGxlbmdl")
			ad := pcc.Response.AttestationObject.AuthData
			mustEqual(t, "ED flag", ad.Flags.HasExtensions(), tc.wantAuth != nil)
			if tc.wantAuth == nil {
				return
			}
			var got map[string]any
			if err := cbor.Unmarshal(ad.ExtData, &got); err != nil {
				t.Fatalf("extensions: %v", err)
			}
			if len(got) != len(tc.wantAuth) {
				t.Errorf("extensions %v, want %v", got, tc.wantAuth)
			}
			for k, v := range tc.wantAuth {
				mustEqual(t, "extension "+k, got[k], v)
			}
			// CTAP2 canonical: the encoding is exactly what a canonical
			// encoder produces for the same map.
			em, _ := cbor.CTAP2EncOptions().EncMode()
			canon, _ := em.Marshal(got)
			if !bytes.Equal(canon, ad.ExtData) {
				t.Errorf("extensions not canonically encoded: %x vs %x", ad.ExtData, canon)
			}
		})
	}
}

func TestMakeCredentialEnforcedUnknownCredProtect(t *testing.T) {
	a := newTestAuth(t, 3)
	opts := entraOptions(t, "Y2g", func(m map[string]any) {
		m["extensions"] = map[string]any{"credentialProtectionPolicy": "quantumOnly", "enforceCredentialProtectionPolicy": true}
	})
	_, err := a.MakeCredential(opts)
	if !errors.Is(err, ErrCredProtectUnsupported) {
		t.Fatalf("err = %v, want ErrCredProtectUnsupported", err)
	}
	if len(a.Credentials()) != 0 {
		t.Error("a credential was kept after a failed MakeCredential")
	}
}

func TestMakeCredentialAlgorithms(t *testing.T) {
	tests := []struct {
		name    string
		params  []any
		wantAlg int
		wantErr error
	}{
		{"ES256 preferred even when listed second", []any{
			map[string]any{"type": "public-key", "alg": -257}, map[string]any{"type": "public-key", "alg": -7}}, AlgES256, nil},
		{"empty list means default", []any{}, AlgES256, nil},
		{"RS256 only", []any{map[string]any{"type": "public-key", "alg": -257}}, AlgRS256, nil},
		{"unsupported", []any{map[string]any{"type": "public-key", "alg": -8}}, 0, ErrNoSupportedAlgorithm},
		{"other credential type ignored", []any{map[string]any{"type": "password", "alg": -7}}, 0, ErrNoSupportedAlgorithm},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestAuth(t, uint64(20+i))
			at, err := a.MakeCredential(entraOptions(t, "Y2g", func(m map[string]any) { m["pubKeyCredParams"] = tc.params }))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				mustEqual(t, "code", passkeyd.ErrorCodeOf(err), passkeyd.EUnprocessable)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pcc := verifyAttestation(t, at, "Y2g")
			info, _ := a.Credential(at.CredentialID)
			mustEqual(t, "alg", info.Algorithm, tc.wantAlg)
			// The assertion must verify with the registered key too.
			as, err := a.GetAssertion(testRPID, "c2lnbg", nil)
			if err != nil {
				t.Fatal(err)
			}
			verifyAssertion(t, as, "c2lnbg", pcc.Response.AttestationObject.AuthData.AttData.CredentialPublicKey)
		})
	}
}

func TestMakeCredentialExcludeCredentials(t *testing.T) {
	// Find, deterministically, a seed whose credential ID's standard base64
	// form uses + or /, so the variants really differ.
	var a *Authenticator
	var id []byte
	for seed := uint64(100); seed < 200 && id == nil; seed++ {
		a = newTestAuth(t, seed)
		at := mustMake(t, a, entraOptions(t, "Y2g", nil))
		if s := stdB64(at.CredentialID); bytes.ContainsAny([]byte(s), "+/") {
			id = at.CredentialID
		}
	}
	if id == nil {
		t.Fatal("no seed gives a credential ID with + or / in base64")
	}
	variants := map[string]string{
		"base64url":              EncodeID(id),
		"base64url padded":       EncodeID(id) + "=",
		"standard base64":        stdB64(id),
		"base64url + .NET digit": EncodeID(id) + "1", // 32 bytes: one '=' stripped
	}
	for name, enc := range variants {
		t.Run(name, func(t *testing.T) {
			opts := entraOptions(t, "Y2g", func(m map[string]any) {
				m["excludeCredentials"] = []any{
					map[string]any{"type": "public-key", "id": "AAAA", "transports": []string{"usb"}},
					map[string]any{"type": "public-key", "id": enc},
				}
			})
			_, err := a.MakeCredential(opts)
			var ex *ExcludedError
			if !errors.As(err, &ex) || !errors.Is(err, ErrCredentialExcluded) {
				t.Fatalf("err = %v, want *ExcludedError", err)
			}
			if !bytes.Equal(ex.CredentialID, id) {
				t.Errorf("excluded ID %x, want %x", ex.CredentialID, id)
			}
			mustEqual(t, "code", passkeyd.ErrorCodeOf(err), passkeyd.EConflict)
			mustEqual(t, "credentials held", len(a.Credentials()), 1)
		})
	}
	t.Run("other relying party", func(t *testing.T) {
		opts := entraOptions(t, "Y2g", func(m map[string]any) {
			m["rp"] = map[string]any{"id": "example.org"}
			m["excludeCredentials"] = []any{map[string]any{"type": "public-key", "id": EncodeID(id)}}
		})
		mustMake(t, a, opts)
	})
}

func TestMakeCredentialInvalidOptions(t *testing.T) {
	huge := bytes.Repeat([]byte("A"), MaxChallengeLength+1)
	tests := []struct {
		name      string
		raw       []byte // used when set
		mutate    func(m map[string]any)
		wantField string
		wantCode  passkeyd.ErrorCode
	}{
		{name: "not JSON", raw: []byte("{"), wantCode: passkeyd.EInvalid},
		{name: "JSON array", raw: []byte("[]"), wantCode: passkeyd.EInvalid},
		{name: "too large", raw: append([]byte(`{"x":"`), append(bytes.Repeat([]byte("a"), MaxOptionsSize), '"', '}')...), wantCode: passkeyd.ETooLarge},
		{name: "no rp", mutate: func(m map[string]any) { delete(m, "rp") }, wantField: "rp.id"},
		{name: "empty rp id", mutate: func(m map[string]any) { m["rp"] = map[string]any{"id": ""} }, wantField: "rp.id"},
		{name: "rp id with scheme", mutate: func(m map[string]any) { m["rp"] = map[string]any{"id": "https://login.microsoft.com"} }, wantField: "rp.id"},
		{name: "rp id IP", mutate: func(m map[string]any) { m["rp"] = map[string]any{"id": "10.0.0.1"} }, wantField: "rp.id"},
		{name: "rp id bad label", mutate: func(m map[string]any) { m["rp"] = map[string]any{"id": "-bad.example.com"} }, wantField: "rp.id"},
		{name: "no challenge", mutate: func(m map[string]any) { delete(m, "challenge") }, wantField: "challenge"},
		{name: "challenge too long", mutate: func(m map[string]any) { m["challenge"] = string(huge) }, wantField: "challenge"},
		{name: "challenge not base64", mutate: func(m map[string]any) { m["challenge"] = `a"b<` }, wantField: "challenge"},
		{name: "no user", mutate: func(m map[string]any) { delete(m, "user") }, wantField: "user.id"},
		{name: "empty user id", mutate: func(m map[string]any) { m["user"] = map[string]any{"name": "x"} }, wantField: "user.id"},
		{name: "user id not base64", mutate: func(m map[string]any) { m["user"] = map[string]any{"id": "!!"} }, wantField: "user.id"},
		{name: "user name control chars", mutate: func(m map[string]any) { m["user"] = map[string]any{"id": "AAAA", "name": "a\nb"} }, wantField: "user.name"},
		{name: "wrong field type", mutate: func(m map[string]any) { m["rp"] = "login.microsoft.com" }, wantCode: passkeyd.EInvalid},
		{name: "empty exclude id", mutate: func(m map[string]any) { m["excludeCredentials"] = []any{map[string]any{"id": ""}} }, wantField: "excludeCredentials[0].id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.raw
			if raw == nil {
				raw = entraOptions(t, "Y2g", tc.mutate)
			}
			a := newTestAuth(t, 4)
			_, err := a.MakeCredential(raw)
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("err = %v, want ErrInvalidOptions", err)
			}
			want := tc.wantCode
			if want == "" {
				want = passkeyd.EInvalid
			}
			mustEqual(t, "code", passkeyd.ErrorCodeOf(err), want)
			if tc.wantField != "" {
				found := false
				for _, f := range passkeyd.ErrorFields(err) {
					found = found || f.Field == tc.wantField
				}
				if !found {
					t.Errorf("fields %v lack %s", passkeyd.ErrorFields(err), tc.wantField)
				}
			}
			if len(a.Credentials()) != 0 {
				t.Error("a credential was kept after a failed MakeCredential")
			}
		})
	}
}

func TestParseCreationOptionsTolerant(t *testing.T) {
	inner := string(entraOptions(t, "Y2g", nil))
	tests := map[string]string{
		"publicKey wrapper": `{"challengeTimeoutDateTime":"2026-03-01T12:05:00Z","publicKey":` + inner + `}`,
		"unknown fields":    inner[:len(inner)-1] + `,"futureField":{"a":[1,2]},"timeout":60000.5}`,
		"residentKey form":  `{"rp":{"id":"login.microsoft.com"},"user":{"id":"AAAA"},"challenge":"Y2g","authenticatorSelection":{"residentKey":"required"}}`,
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			o, err := ParseCreationOptions([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, "rp", o.RPID, testRPID)
			mustEqual(t, "challenge", o.Challenge, "Y2g")
		})
	}
	o, err := ParseCreationOptions([]byte(inner))
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "resident key", o.ResidentKey, "required")
	mustEqual(t, "uv", o.UserVerification, "required")
	mustEqual(t, "hmac", o.HMACCreateSecret, true)
	mustEqual(t, "enforce", o.EnforceCredentialProtectionPolicy, true)
}

func TestAAGUIDOverride(t *testing.T) {
	id := uuid.MustParse("00000000-1111-4222-8333-444444444444")
	a := newTestAuth(t, 5, WithAAGUID(id))
	at := mustMake(t, a, entraOptions(t, "Y2g", nil))
	pcc := verifyAttestation(t, at, "Y2g")
	mustEqual(t, "AAGUID", uuid.UUID(pcc.Response.AttestationObject.AuthData.AttData.AAGUID), id)
	mustEqual(t, "AAGUID()", a.AAGUID(), id)
	if uuid.MustParse(DefaultAAGUID).Version() != 4 {
		t.Error("DefaultAAGUID is not a v4 UUID")
	}
}

func TestAttestationCredentialForm(t *testing.T) {
	a := newTestAuth(t, 6)
	at := mustMake(t, a, entraOptions(t, "Y2g", nil))
	c := at.Credential()
	for name, pair := range map[string]struct {
		enc string
		raw []byte
	}{
		"id": {c.ID, at.CredentialID}, "client_data_json": {c.ClientDataJSON, at.ClientDataJSON},
		"attestation_object": {c.AttestationObject, at.AttestationObject},
	} {
		if bytes.ContainsAny([]byte(pair.enc), "+/=") {
			t.Errorf("%s is not unpadded base64url: %q", name, pair.enc)
		}
		if got, err := DecodeID(pair.enc); err != nil || !bytes.Equal(got, pair.raw) {
			t.Errorf("%s does not round-trip", name)
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"id", "client_data_json", "attestation_object", "client_extension_results"} {
		if _, ok := m[k]; !ok {
			t.Errorf("Credential JSON lacks %s: %s", k, b)
		}
	}
	// The packed self-attestation signature verifies with the credential key.
	var ao struct {
		AttStmt  map[string]any `cbor:"attStmt"`
		AuthData []byte         `cbor:"authData"`
	}
	if err := cbor.Unmarshal(at.AttestationObject, &ao); err != nil {
		t.Fatal(err)
	}
	info, _ := a.Credential(at.CredentialID)
	cdh := sha256.Sum256(at.ClientDataJSON)
	digest := sha256.Sum256(append(ao.AuthData, cdh[:]...))
	if !ecdsa.VerifyASN1(info.PublicKey.(*ecdsa.PublicKey), digest[:], ao.AttStmt["sig"].([]byte)) {
		t.Error("packed signature does not verify with the credential key")
	}
}

func stdB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
