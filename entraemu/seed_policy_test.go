package entraemu

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

func TestSeedPolicyGroupsAndRoots(t *testing.T) {
	pki := newTestPKI(t, "Seeded Vendor")
	rootJSON, _ := json.Marshal(string(pki.rootPEM))
	const group = "6f1c2b3a-1111-4aaa-8bbb-00000000000a"
	seed := `{"tenants":[{"id":"72f988bf-86f1-41af-91ab-2d7cd011db47","domain":"example.onmicrosoft.com",
	  "apps":[{"client_id":"11111111-1111-1111-1111-111111111111","secrets":[{"value":"s3cret-value-1234","expires":"2030-01-01T00:00:00Z"}],"roles":["UserAuthenticationMethod.ReadWrite.All"]}],
	  "users":[{"upn":"eve@example.onmicrosoft.com","groups":["` + strings.ToUpper(group) + `"]},{"upn":"mallory@example.onmicrosoft.com"}],
	  "fido2_policy":{"state":"enabled","isSelfServiceRegistrationAllowed":true,"isAttestationEnforced":false,
	    "keyRestrictions":{"isEnforced":true,"enforcementType":"allow","aaGuids":["` + testAAGUID + `"]},
	    "includeTargets":[{"targetType":"group","id":"` + group + `"}],
	    "passkeyProfiles":[{"id":"p1","name":"Attested keys","passkeyTypes":"deviceBound","attestationEnforcement":"registrationOnly"}]}}],
	 "trusted_attestation_roots":[` + string(rootJSON) + `]}`
	s, err := LoadSeed(strings.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	e, err := New(Options{Seed: s, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	want := passkeyd.Fido2Policy{
		State: "enabled", IsSelfServiceRegistrationAllowed: true,
		KeyRestrictions: &passkeyd.KeyRestrictions{IsEnforced: true, EnforcementType: "allow", AAGUIDs: []string{testAAGUID}},
		IncludeTargets:  []passkeyd.PolicyTarget{{TargetType: "group", ID: group}},
		PasskeyProfiles: []passkeyd.PasskeyProfile{{ID: "p1", Name: "Attested keys", PasskeyTypes: "deviceBound", AttestationEnforcement: "registrationOnly"}},
	}
	if got := e.Fido2Policy("example.onmicrosoft.com"); !reflect.DeepEqual(got, want) {
		t.Errorf("policy = %+v, want %+v", got, want)
	}
	if users := e.Users("example.onmicrosoft.com"); len(users) != 2 || !reflect.DeepEqual(users[0].Groups, []string{group}) || users[1].Groups != nil {
		t.Errorf("users = %+v", users)
	}

	// The seeded policy and root are in force: eve (in the group) can
	// register an attested key, mallory (not in it) cannot.
	v := newEnvFrom(t, e, clk)
	tok := v.token(t)
	const eve, mallory = "eve@example.onmicrosoft.com", "mallory@example.onmicrosoft.com"
	if st, body, _ := v.graph(t, "POST", methodsPath(eve), tok, newAuthenticator(t, 80).create(t, v.options(t, tok, eve), "key", pki.opts())); st != http.StatusCreated {
		t.Errorf("eve: %d %v", st, body)
	}
	st, body, _ := v.graph(t, "POST", methodsPath(mallory), tok, newAuthenticator(t, 81).create(t, v.options(t, tok, mallory), "key", pki.opts()))
	if _, _, inner := graphErr(body); st != http.StatusForbidden || inner != InnerCodeUserNotTargeted {
		t.Errorf("mallory: %d %v", st, body)
	}

	// Strict: unknown policy fields fail to decode; invalid values, bad
	// groups and bad roots are all reported at once.
	if _, err := LoadSeed(strings.NewReader(`{"tenants":[{"domain":"a.example.com","fido2_policy":{"state":"enabled","colour":"red"}}]}`)); err == nil {
		t.Error("unknown policy field accepted")
	}
	s, err = LoadSeed(strings.NewReader(`{"tenants":[{"domain":"a.example.com",
	  "users":[{"upn":"x@a.example.com","groups":["not-a-guid"]}],
	  "fido2_policy":{"state":"sometimes"}}],
	 "trusted_attestation_roots":["not a certificate"]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{Seed: s})
	for _, want := range []string{"users[0]", `"not-a-guid" is not a GUID`, "tenants[0].fido2_policy", `state "sometimes"`, "trusted_attestation_roots[0]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("seed error %v does not report %s", err, want)
		}
	}
}

// newEnvFrom serves an existing emulator like newEnv does, with the
// first tenant's first app.
func newEnvFrom(t testing.TB, e *Emulator, clk *testClock) *env {
	t.Helper()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	set := e.Settings()
	return &env{e: e, srv: srv, clock: clk, set: set, secret: set.ClientSecret}
}
