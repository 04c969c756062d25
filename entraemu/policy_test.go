package entraemu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// testAAGUID is the AAGUID of newAuthenticator.
const testAAGUID = "ee882879-721c-4913-9775-3dfcce97072a"

const otherAAGUID = "cb69481e-8ff7-4039-93ec-0a2729a154a8"

// policyWith returns the default policy changed by mod.
func policyWith(mod func(*passkeyd.Fido2Policy)) passkeyd.Fido2Policy {
	p := defaultFido2Policy()
	mod(&p)
	return p
}

func setPolicy(t testing.TB, v *env, p passkeyd.Fido2Policy) {
	t.Helper()
	if err := v.e.SetFido2Policy(v.set.TenantID, p); err != nil {
		t.Fatalf("SetFido2Policy: %v", err)
	}
}

// graphErr returns the error envelope's code, message and innerError.code.
func graphErr(body map[string]any) (code, msg, inner string) {
	e, _ := body["error"].(map[string]any)
	code, _ = e["code"].(string)
	msg, _ = e["message"].(string)
	ie, _ := e["innerError"].(map[string]any)
	inner, _ = ie["code"].(string)
	return code, msg, inner
}

// TestPolicyRejectsCreate sets a policy after the creation options were
// issued, attempts an otherwise valid create, and checks the refusal;
// the same body must then succeed under the default policy, proving the
// policy alone refused it.
func TestPolicyRejectsCreate(t *testing.T) {
	kr := func(typ string, ids ...string) *passkeyd.KeyRestrictions {
		return &passkeyd.KeyRestrictions{IsEnforced: true, EnforcementType: typ, AAGUIDs: ids}
	}
	profile := func(types, att string, k *passkeyd.KeyRestrictions) []passkeyd.PasskeyProfile {
		return []passkeyd.PasskeyProfile{{ID: "p1", Name: "Hardware keys", PasskeyTypes: types, AttestationEnforcement: att, KeyRestrictions: k}}
	}
	tests := []struct {
		name   string
		policy func(*passkeyd.Fido2Policy, *User)
		opts   makeOpts
		status int
		inner  string
		msg    string
	}{
		{"disabled", func(p *passkeyd.Fido2Policy, _ *User) { p.State = "disabled" },
			makeOpts{}, 403, InnerCodeFido2MethodDisabled, "disabled"},
		{"not targeted", func(p *passkeyd.Fido2Policy, _ *User) {
			p.IncludeTargets = []passkeyd.PolicyTarget{{TargetType: "group", ID: "9a4b6c2e-0000-4000-8000-000000000001"}}
		}, makeOpts{}, 403, InnerCodeUserNotTargeted, "includeTargets"},
		{"excluded user", func(p *passkeyd.Fido2Policy, u *User) {
			p.ExcludeTargets = []passkeyd.PolicyTarget{{TargetType: "user", ID: strings.ToUpper(u.ID)}}
		}, makeOpts{}, 403, InnerCodeUserExcluded, "excludeTargets"},
		{"self-service off", func(p *passkeyd.Fido2Policy, _ *User) { p.IsSelfServiceRegistrationAllowed = false },
			makeOpts{}, 403, InnerCodeSelfServiceRegistrationDisabled, "isSelfServiceRegistrationAllowed"},
		{"AAGUID not in legacy allow list", func(p *passkeyd.Fido2Policy, _ *User) { p.KeyRestrictions = kr("allow", otherAAGUID) },
			makeOpts{}, 400, InnerCodeAAGUIDNotAllowed, "not in the allow list of the FIDO2 policy's keyRestrictions"},
		{"AAGUID in legacy block list", func(p *passkeyd.Fido2Policy, _ *User) { p.KeyRestrictions = kr("block", strings.ToUpper(testAAGUID)) },
			makeOpts{}, 400, InnerCodeAAGUIDBlocked, "is in the block list of the FIDO2 policy's keyRestrictions"},
		{"AAGUID not in profile allow list", func(p *passkeyd.Fido2Policy, _ *User) {
			p.PasskeyProfiles = profile("deviceBound,synced", "disabled", kr("allow", otherAAGUID))
		}, makeOpts{}, 400, InnerCodeAAGUIDNotAllowed, `allow list of passkey profile "Hardware keys"`},
		{"AAGUID in profile block list", func(p *passkeyd.Fido2Policy, _ *User) {
			p.PasskeyProfiles = profile("deviceBound,synced", "disabled", kr("block", otherAAGUID, testAAGUID))
		}, makeOpts{}, 400, InnerCodeAAGUIDBlocked, `block list of passkey profile "Hardware keys"`},
		{"legacy attestation enforced, none", func(p *passkeyd.Fido2Policy, _ *User) { p.IsAttestationEnforced = true },
			makeOpts{}, 400, InnerCodeAttestationRequired, `(isAttestationEnforced): only packed attestation with a certificate chain to a trusted root is accepted, not "none"`},
		{"profile attestation enforced, self attestation", func(p *passkeyd.Fido2Policy, _ *User) {
			p.PasskeyProfiles = profile("deviceBound", "registrationOnly", nil)
		}, makeOpts{format: "packed"}, 400, InnerCodeAttestationRequired, "self attestation"},
		{"synced only profile, device-bound credential", func(p *passkeyd.Fido2Policy, _ *User) {
			p.PasskeyProfiles = profile("synced", "disabled", nil)
		}, makeOpts{}, 400, InnerCodePasskeyTypeNotAllowed, "allows only synced passkeys"},
		{"device-bound only profile, synced credential", func(p *passkeyd.Fido2Policy, _ *User) {
			p.PasskeyProfiles = profile("deviceBound", "disabled", nil)
		}, makeOpts{backup: true}, 400, InnerCodePasskeyTypeNotAllowed, "allows only device-bound passkeys"},
		// Controls: the same restrictions, satisfied.
		{"AAGUID in allow list", func(p *passkeyd.Fido2Policy, _ *User) { p.KeyRestrictions = kr("allow", otherAAGUID, testAAGUID) },
			makeOpts{}, 201, "", ""},
		{"AAGUID not in block list", func(p *passkeyd.Fido2Policy, _ *User) { p.KeyRestrictions = kr("block", otherAAGUID) },
			makeOpts{}, 201, "", ""},
		{"restrictions not enforced", func(p *passkeyd.Fido2Policy, _ *User) {
			p.KeyRestrictions = &passkeyd.KeyRestrictions{EnforcementType: "allow", AAGUIDs: []string{otherAAGUID}}
		}, makeOpts{}, 201, "", ""},
		{"synced allowed", func(p *passkeyd.Fido2Policy, _ *User) {
			p.PasskeyProfiles = profile("deviceBound,synced", "disabled", nil)
		},
			makeOpts{backup: true}, 201, "", ""},
		{"user targeted by ID", func(p *passkeyd.Fido2Policy, u *User) {
			p.IncludeTargets = []passkeyd.PolicyTarget{{TargetType: "user", ID: u.ID}}
		}, makeOpts{}, 201, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, nil)
			tok := v.token(t)
			alice := v.e.Users(v.set.TenantID)[0]
			body := newAuthenticator(t, 40).create(t, v.options(t, tok, aliceUPN), "key", tc.opts)
			setPolicy(t, v, policyWith(func(p *passkeyd.Fido2Policy) { tc.policy(p, &alice) }))

			st, resp, _ := v.graph(t, "POST", methodsPath(aliceUPN), tok, body)
			if tc.status == http.StatusCreated {
				if st != http.StatusCreated {
					t.Fatalf("create: %d %v, want 201", st, resp)
				}
				return
			}
			code, msg, inner := graphErr(resp)
			wantCode := map[int]string{400: "invalidRequest", 403: "accessDenied"}[tc.status]
			if st != tc.status || code != wantCode || inner != tc.inner {
				t.Fatalf("create: %d %s/%s, want %d %s/%s (%v)", st, code, inner, tc.status, wantCode, tc.inner, resp)
			}
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("message %q does not contain %q", msg, tc.msg)
			}
			if n := len(v.e.Methods(v.set.TenantID, aliceUPN)); n != 0 {
				t.Fatalf("%d methods stored after a refusal", n)
			}
			setPolicy(t, v, defaultFido2Policy())
			if st, resp, _ := v.graph(t, "POST", methodsPath(aliceUPN), tok, body); st != http.StatusCreated {
				t.Fatalf("same body under the default policy: %d %v", st, resp)
			}
		})
	}
}

// TestCreationOptionsPolicy: only a disabled method refuses creation
// options; targets and self-service are enforced at create.
func TestCreationOptionsPolicy(t *testing.T) {
	v := newEnv(t, nil)
	tok := v.token(t)
	path := methodsPath(aliceUPN) + "/creationOptions"
	setPolicy(t, v, policyWith(func(p *passkeyd.Fido2Policy) {
		p.IsSelfServiceRegistrationAllowed = false
		p.ExcludeTargets = []passkeyd.PolicyTarget{{TargetType: "group", ID: "all_users"}}
	}))
	if st, body, _ := v.graph(t, "GET", path, tok, nil); st != http.StatusOK {
		t.Errorf("options with self-service off and user excluded: %d %v, want 200", st, body)
	}
	setPolicy(t, v, policyWith(func(p *passkeyd.Fido2Policy) { p.State = "disabled" }))
	st, body, _ := v.graph(t, "GET", path, tok, nil)
	if code, _, inner := graphErr(body); st != http.StatusForbidden || code != "accessDenied" || inner != InnerCodeFido2MethodDisabled {
		t.Errorf("options with FIDO2 disabled: %d %v", st, body)
	}
}

func TestGroupTargeting(t *testing.T) {
	const (
		pilots   = "6f1c2b3a-1111-4aaa-8bbb-000000000001"
		contract = "6f1c2b3a-1111-4aaa-8bbb-000000000002"
	)
	v := newEnv(t, nil)
	add := func(upn string, groups ...string) User {
		t.Helper()
		u, err := v.e.AddUser(v.set.TenantID, User{UPN: upn, Groups: groups})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	add("pilot@contoso.onmicrosoft.com", strings.ToUpper(pilots))
	add("contractor@contoso.onmicrosoft.com", pilots, contract)
	add("nobody@contoso.onmicrosoft.com")
	named := add("named@contoso.onmicrosoft.com", contract)
	setPolicy(t, v, policyWith(func(p *passkeyd.Fido2Policy) {
		p.IncludeTargets = []passkeyd.PolicyTarget{{TargetType: "group", ID: pilots}, {TargetType: "user", ID: named.ID}}
		p.ExcludeTargets = []passkeyd.PolicyTarget{{TargetType: "group", ID: contract}}
	}))
	if got := v.e.Users(v.set.TenantID)[3].Groups; !reflect.DeepEqual(got, []string{pilots}) {
		t.Errorf("stored groups = %v, want lowercase %s", got, pilots)
	}
	tok := v.token(t)
	tests := []struct {
		upn    string
		status int
		inner  string
	}{
		{"pilot@contoso.onmicrosoft.com", 201, ""},
		{"contractor@contoso.onmicrosoft.com", 403, InnerCodeUserExcluded}, // exclusion wins
		{"nobody@contoso.onmicrosoft.com", 403, InnerCodeUserNotTargeted},
		{"named@contoso.onmicrosoft.com", 403, InnerCodeUserExcluded}, // named, but in an excluded group
		{aliceUPN, 403, InnerCodeUserNotTargeted},
	}
	for i, tc := range tests {
		t.Run(tc.upn, func(t *testing.T) {
			st, body, _ := v.graph(t, "POST", methodsPath(tc.upn), tok, newAuthenticator(t, byte(50+i)).create(t, v.options(t, tok, tc.upn), "key", makeOpts{}))
			if _, _, inner := graphErr(body); st != tc.status || inner != tc.inner {
				t.Errorf("create: %d %v, want %d %q", st, body, tc.status, tc.inner)
			}
		})
	}
}

// testPKI is an attestation root, an intermediate and an attestation
// certificate for newAuthenticator's AAGUID.
type testPKI struct {
	rootPEM []byte
	chain   [][]byte // leaf, intermediate
	leafKey *ecdsa.PrivateKey
}

func newTestPKI(t testing.TB, cn string) *testPKI {
	t.Helper()
	// Fixed validity covering both the test clock and the wall clock,
	// which go-webauthn checks x5c against.
	nb, na := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC)
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	issue := func(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) *x509.Certificate {
		tmpl.NotBefore, tmpl.NotAfter = nb, na
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rootKey, interKey, leafKey := key(), key(), key()
	caTmpl := func(serial int64, name string) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	}
	rootTmpl := caTmpl(1, cn+" Root")
	root := issue(rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	inter := issue(caTmpl(2, cn+" Intermediate"), root, &interKey.PublicKey, rootKey)
	leaf := issue(&x509.Certificate{SerialNumber: big.NewInt(3), BasicConstraintsValid: true,
		Subject: pkix.Name{Country: []string{"US"}, Organization: []string{cn}, OrganizationalUnit: []string{"Authenticator Attestation"}, CommonName: cn + " Attestation"}},
		inter, &leafKey.PublicKey, interKey)
	return &testPKI{
		rootPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}),
		chain:   [][]byte{leaf.Raw, inter.Raw},
		leafKey: leafKey,
	}
}

func (p *testPKI) opts() makeOpts { return makeOpts{format: "packed", attKey: p.leafKey, x5c: p.chain} }

func TestAttestationEnforcement(t *testing.T) {
	trusted, untrusted := newTestPKI(t, "Trusted Vendor"), newTestPKI(t, "Other Vendor")
	legacy := policyWith(func(p *passkeyd.Fido2Policy) { p.IsAttestationEnforced = true })
	profile := policyWith(func(p *passkeyd.Fido2Policy) {
		p.PasskeyProfiles = []passkeyd.PasskeyProfile{{Name: "attested", PasskeyTypes: "deviceBound", AttestationEnforcement: "registrationOnly"}}
	})
	tests := []struct {
		name   string
		roots  [][]byte
		policy passkeyd.Fido2Policy
		opts   makeOpts
		msg    string // "" = accepted
	}{
		{"legacy, chain to trusted root", [][]byte{trusted.rootPEM}, legacy, trusted.opts(), ""},
		{"profile, chain to trusted root", [][]byte{untrusted.rootPEM, trusted.rootPEM}, profile, trusted.opts(), ""},
		{"chain to another root", [][]byte{trusted.rootPEM}, legacy, untrusted.opts(), "does not chain to a trusted attestation root"},
		{"no roots configured", nil, profile, trusted.opts(), "no trusted attestation roots are configured"},
		{"leaf without its intermediate", [][]byte{trusted.rootPEM}, legacy,
			makeOpts{format: "packed", attKey: trusted.leafKey, x5c: trusted.chain[:1]}, "does not chain"},
		{"none", [][]byte{trusted.rootPEM}, legacy, makeOpts{}, `not "none"`},
		{"self attestation", [][]byte{trusted.rootPEM}, profile, makeOpts{format: "packed"}, "self attestation"},
		{"not enforced, untrusted chain", nil, defaultFido2Policy(), untrusted.opts(), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, nil)
			for _, r := range tc.roots {
				if err := v.e.AddTrustedAttestationRoot(r); err != nil {
					t.Fatal(err)
				}
			}
			setPolicy(t, v, tc.policy)
			tok := v.token(t)
			st, body, _ := v.graph(t, "POST", methodsPath(aliceUPN), tok, newAuthenticator(t, 60).create(t, v.options(t, tok, aliceUPN), "key", tc.opts))
			if tc.msg == "" {
				if st != http.StatusCreated {
					t.Fatalf("create: %d %v, want 201", st, body)
				}
				if body["attestationLevel"] != "attested" || len(body["attestationCertificates"].([]any)) != 2 {
					t.Errorf("method = %v, want attested with 2 certificates", body)
				}
				return
			}
			code, msg, inner := graphErr(body)
			if st != http.StatusBadRequest || code != "invalidRequest" || inner != InnerCodeAttestationRequired || !strings.Contains(msg, tc.msg) {
				t.Fatalf("create: %d %v, want 400 %s mentioning %q", st, body, InnerCodeAttestationRequired, tc.msg)
			}
			if n := len(v.e.Methods(v.set.TenantID, aliceUPN)); n != 0 {
				t.Fatalf("%d methods stored after a refusal", n)
			}
		})
	}
}

func TestAddTrustedAttestationRootRejects(t *testing.T) {
	v := newEnv(t, nil)
	good := newTestPKI(t, "Vendor").rootPEM
	for name, in := range map[string][]byte{
		"empty":         nil,
		"not PEM":       []byte("hello"),
		"private key":   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}),
		"bad DER":       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}),
		"trailing data": append(append([]byte{}, good...), "junk"...),
	} {
		if err := v.e.AddTrustedAttestationRoot(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := v.e.AddTrustedAttestationRoot(good); err != nil {
		t.Errorf("good root: %v", err)
	}
}

func TestGetFido2Policy(t *testing.T) {
	v := newEnv(t, nil)
	const path = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2"
	st, body, _ := v.graph(t, "GET", path, v.token(t), nil)
	if code, msg, _ := graphErr(body); st != http.StatusForbidden || code != "accessDenied" || !strings.Contains(msg, RolePolicyReadAuthMethod) {
		t.Errorf("without the role: %d %v", st, body)
	}
	if st, body, _ := v.graph(t, "GET", path, "", nil); st != http.StatusUnauthorized {
		t.Errorf("without a token: %d %v", st, body)
	}
	if err := v.e.SetAppRoles(v.set.TenantID, v.set.ClientID, []string{RolePolicyReadAuthMethod}); err != nil {
		t.Fatal(err)
	}
	tok := v.token(t)
	st, body, _ = v.graph(t, "GET", path, tok, nil)
	if st != http.StatusOK || body["@odata.type"] != "#microsoft.graph.fido2AuthenticationMethodConfiguration" || body["id"] != "Fido2" ||
		!strings.HasSuffix(body["@odata.context"].(string), "/v1.0/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity") {
		t.Fatalf("default policy: %d %v", st, body)
	}
	if body["state"] != "enabled" || body["isSelfServiceRegistrationAllowed"] != true || body["isAttestationEnforced"] != false ||
		!reflect.DeepEqual(body["includeTargets"], []any{map[string]any{"targetType": "group", "id": "all_users"}}) ||
		!reflect.DeepEqual(body["excludeTargets"], []any{}) || !reflect.DeepEqual(body["passkeyProfiles"], []any{}) ||
		!reflect.DeepEqual(body["keyRestrictions"], map[string]any{"isEnforced": false, "enforcementType": "block", "aaGuids": []any{}}) {
		t.Errorf("default policy body = %v", body)
	}

	want := policyWith(func(p *passkeyd.Fido2Policy) {
		p.IsAttestationEnforced = true
		p.KeyRestrictions = &passkeyd.KeyRestrictions{IsEnforced: true, EnforcementType: "allow", AAGUIDs: []string{testAAGUID}}
		p.ExcludeTargets = []passkeyd.PolicyTarget{{TargetType: "group", ID: "6f1c2b3a-1111-4aaa-8bbb-000000000002"}}
		p.PasskeyProfiles = []passkeyd.PasskeyProfile{{ID: "p1", Name: "Keys", PasskeyTypes: "deviceBound", AttestationEnforcement: "registrationOnly"}}
	})
	setPolicy(t, v, want)
	if got := v.e.Fido2Policy(v.set.Domain); !reflect.DeepEqual(got, want) {
		t.Errorf("Fido2Policy = %+v, want %+v", got, want)
	}
	// The ReadWrite role reads too; beta serves the same object.
	if err := v.e.SetAppRoles(v.set.TenantID, v.set.ClientID, []string{RolePolicyReadWriteAuthMethod}); err != nil {
		t.Fatal(err)
	}
	st, body, _ = v.graph(t, "GET", strings.Replace(path, "v1.0", "beta", 1), v.token(t), nil)
	if st != http.StatusOK || body["isAttestationEnforced"] != true ||
		!reflect.DeepEqual(body["keyRestrictions"], map[string]any{"isEnforced": true, "enforcementType": "allow", "aaGuids": []any{testAAGUID}}) ||
		!reflect.DeepEqual(body["passkeyProfiles"], []any{map[string]any{"id": "p1", "name": "Keys", "passkeyTypes": "deviceBound", "attestationEnforcement": "registrationOnly"}}) {
		t.Errorf("set policy: %d %v", st, body)
	}
	if st, body, _ := v.graph(t, "PATCH", path, tok, map[string]any{"state": "disabled"}); st != http.StatusMethodNotAllowed {
		t.Errorf("PATCH: %d %v", st, body)
	}
	if err := v.e.InjectFault(Fault{Op: OpGetFido2Policy, Status: 503, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := v.graph(t, "GET", path, tok, nil); st != http.StatusServiceUnavailable {
		t.Errorf("injected fault: %d", st)
	}
	// Counted: every GET, refused or not; the PATCH is refused before routing.
	if n := v.e.Stats().GraphCalls[OpGetFido2Policy]; n != 5 {
		t.Errorf("GraphCalls[%s] = %d, want 5", OpGetFido2Policy, n)
	}
}

func TestSetFido2PolicyValidates(t *testing.T) {
	v := newEnv(t, nil)
	bad := passkeyd.Fido2Policy{
		State:           "on",
		KeyRestrictions: &passkeyd.KeyRestrictions{IsEnforced: true, EnforcementType: "deny", AAGUIDs: []string{"not-a-guid"}},
		IncludeTargets:  []passkeyd.PolicyTarget{{TargetType: "device", ID: "everyone"}},
		PasskeyProfiles: []passkeyd.PasskeyProfile{{PasskeyTypes: "roaming", AttestationEnforcement: "always"}, {AttestationEnforcement: "disabled"}},
	}
	err := v.e.SetFido2Policy(v.set.TenantID, bad)
	for _, want := range []string{`state "on"`, `keyRestrictions.enforcementType "deny"`, `keyRestrictions.aaGuids[0] "not-a-guid"`,
		`includeTargets[0].targetType "device"`, `includeTargets[0].id "everyone"`, `passkeyProfiles[0].passkeyTypes: "roaming"`,
		`passkeyProfiles[0].attestationEnforcement "always"`, "passkeyProfiles[1].passkeyTypes: is empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not report %s", err, want)
		}
	}
	if got := v.e.Fido2Policy(v.set.TenantID); !reflect.DeepEqual(got, defaultFido2Policy()) {
		t.Errorf("policy changed by a refused set: %+v", got)
	}
	if err := v.e.SetFido2Policy("unknown.example.com", defaultFido2Policy()); err == nil {
		t.Error("unknown tenant accepted")
	}
	// The stored policy is a copy: changing the caller's slices later
	// must not change it.
	p := policyWith(func(p *passkeyd.Fido2Policy) {
		p.KeyRestrictions = &passkeyd.KeyRestrictions{IsEnforced: true, EnforcementType: "allow", AAGUIDs: []string{strings.ToUpper(testAAGUID)}}
	})
	setPolicy(t, v, p)
	p.KeyRestrictions.AAGUIDs[0] = otherAAGUID
	if got := v.e.Fido2Policy(v.set.TenantID).KeyRestrictions.AAGUIDs; !reflect.DeepEqual(got, []string{testAAGUID}) {
		t.Errorf("stored AAGUIDs = %v, want [%s] (lowercased, not aliased)", got, testAAGUID)
	}
}
