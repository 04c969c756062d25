package graph

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

// samplePolicy is the documented FIDO2 configuration with annotations,
// fields passkeyd does not know, and both passkeyTypes shapes.
const samplePolicy = `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity",
"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration","id":"Fido2","state":"enabled",
"isSelfServiceRegistrationAllowed":true,"isAttestationEnforced":null,"futureSetting":{"x":[1,2]},
"keyRestrictions":{"isEnforced":true,"enforcementType":"allow","aaGuids":["90a3ccdf-635c-4729-a248-9b709135078f"]},
"includeTargets@odata.context":"x",
"includeTargets":[{"targetType":"group","id":"all_users","isRegistrationRequired":false}],
"excludeTargets":[],
"passkeyProfiles":[
 {"id":"p1","name":"Default","passkeyTypes":"deviceBound,synced","attestationEnforcement":"disabled","keyRestrictions":null,"extra":1},
 {"id":"p2","name":"Strict","passkeyTypes":["deviceBound"],"attestationEnforcement":"registrationOnly",
  "keyRestrictions":{"isEnforced":false,"enforcementType":"block","aaGuids":[]}}]}`

func TestFido2Policy(t *testing.T) {
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.RequestURI != "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2" {
			t.Errorf("request = %s %s", r.Method, r.RequestURI)
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken(1) {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		writeRaw(w, http.StatusOK, samplePolicy)
	})
	p, err := f.client(t).Fido2Policy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := &passkeyd.Fido2Policy{
		State:                            "enabled",
		IsSelfServiceRegistrationAllowed: true,
		KeyRestrictions:                  &passkeyd.KeyRestrictions{IsEnforced: true, EnforcementType: "allow", AAGUIDs: []string{"90a3ccdf-635c-4729-a248-9b709135078f"}},
		IncludeTargets:                   []passkeyd.PolicyTarget{{TargetType: "group", ID: "all_users"}},
		ExcludeTargets:                   []passkeyd.PolicyTarget{},
		PasskeyProfiles: []passkeyd.PasskeyProfile{
			{ID: "p1", Name: "Default", PasskeyTypes: "deviceBound,synced", AttestationEnforcement: "disabled"},
			{ID: "p2", Name: "Strict", PasskeyTypes: "deviceBound", AttestationEnforcement: "registrationOnly",
				KeyRestrictions: &passkeyd.KeyRestrictions{EnforcementType: "block", AAGUIDs: []string{}}},
		},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("policy = %+v\nwant     %+v", p, want)
	}
}

func TestFido2PolicyForbidden(t *testing.T) {
	f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("request-id", "rid-403")
		writeRaw(w, http.StatusForbidden, `{"error":{"code":"accessDenied","message":"Request Authorization failed","innerError":{"request-id":"rid-403"}}}`)
	})
	_, err := f.client(t).Fido2Policy(context.Background())
	ge := mustGraphError(t, err)
	if ge.Op != "fido2Policy" || ge.Status != http.StatusForbidden || ge.Code != "accessDenied" || ge.RequestID != "rid-403" || ge.Temporary() {
		t.Errorf("GraphError = %+v, want a permanent 403", ge)
	}
}

func TestFido2PolicyMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"not an object":        `[{"state":"enabled"}]`,
		"not JSON":             `<html>`,
		"no state":             `{"id":"Fido2","isSelfServiceRegistrationAllowed":true}`,
		"null state":           `{"state":null}`,
		"wrong type":           `{"state":"enabled","includeTargets":"all"}`,
		"passkeyTypes numeric": `{"state":"enabled","passkeyProfiles":[{"passkeyTypes":3}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeMS(t, func(w http.ResponseWriter, r *http.Request) { writeRaw(w, http.StatusOK, body) })
			_, err := f.client(t).Fido2Policy(context.Background())
			if !errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("err = %v, want ErrMalformedResponse", err)
			}
			mustCode(t, err, passkeyd.EUpstream)
		})
	}
}
