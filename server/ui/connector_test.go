package ui

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Changing where the connector signs in needs the stored credential again
// or its removal: the form offers removing the secret, and the service's
// precise refusal shows next to the secret field.
func TestConnectorDestinationChangeNeedsTheCredential(t *testing.T) {
	tu := newTestUI(t)
	tok := tu.auth.session(t, passkeyd.RoleAdmin)
	r := tu.do(t, request{method: "GET", path: "/ui/connector", session: tok})
	if !strings.Contains(r.body, `name="remove_client_secret"`) || !strings.Contains(r.body, "never sent to a new destination") {
		t.Fatal("the connector page offers no way to remove the stored secret, or does not say when it is needed again")
	}

	const msg = "required: the update changes authority_host, which decide where the connector signs in"
	var got passkeyd.ConnectorUpdate
	tu.svc.UpdateConnectorFn = func(_ context.Context, u passkeyd.ConnectorUpdate) (*passkeyd.Connector, error) {
		got = u
		if u.ClientSecret == nil {
			var fe passkeyd.FieldErrors
			fe.Add("client_secret", msg)
			return nil, fe.Err("invalid connector settings")
		}
		return &passkeyd.Connector{}, nil
	}
	form := url.Values{"enabled": {"on"}, "cloud": {"custom"}, "authority_host": {"https://login.example.net"},
		"graph_url": {"https://graph.example.net"}, "tenant_id": {"contoso.onmicrosoft.com"},
		"client_id": {"55555555-5555-4555-8555-555555555555"}, "challenge_timeout_minutes": {"5"}}
	r = tu.do(t, request{method: "POST", path: "/ui/connector", session: tok, form: form})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, msg) {
		t.Fatalf("refused save: %d, message shown: %v", r.StatusCode, strings.Contains(r.body, msg))
	}

	form.Set("remove_client_secret", "on")
	r = tu.do(t, request{method: "POST", path: "/ui/connector", session: tok, form: form})
	if r.StatusCode != http.StatusSeeOther || got.ClientSecret == nil || got.ClientSecret.Reveal() != "" {
		t.Fatalf("save removing the secret: %d, update secret %v", r.StatusCode, got.ClientSecret)
	}
	// A secret typed in wins over the box.
	form.Set("client_secret", secretValue)
	tu.do(t, request{method: "POST", path: "/ui/connector", session: tok, form: form})
	if got.ClientSecret == nil || got.ClientSecret.Reveal() != secretValue {
		t.Fatal("a typed secret was not sent with the box ticked")
	}
}

// Offboard removes devices and cancels invitations (the service's
// OffboardUser), not only passkeys, and says what it did and could not do.
func TestOffboardRemovesDevicesAndInvitations(t *testing.T) {
	tu := newTestUI(t)
	tok := tu.auth.session(t, passkeyd.RoleOperator)
	r := tu.do(t, request{method: "GET", path: "/ui/users/" + userID + "/offboard", session: tok})
	if !strings.Contains(r.body, "<b>1</b> active device(s)") || !strings.Contains(r.body, "unused invitation codes") {
		t.Fatalf("confirmation page does not say that devices and invitations go:\n%s", r.body)
	}
	tu.svc.OffboardUserFn = func(_ context.Context, id string) (*passkeyd.Offboarding, error) {
		return &passkeyd.Offboarding{UserID: id, InvitationsCancelled: 2, DevicesRemoved: 1, PasskeysRevoking: 3,
			Warnings: []string{"something could not be done"}}, nil
	}
	tu.svc.ResetCalls()
	r = tu.do(t, request{method: "POST", path: "/ui/users/" + userID + "/offboard", session: tok, form: url.Values{}})
	if r.StatusCode != http.StatusOK || !slices.Contains(tu.svc.Calls(), "OffboardUser") || slices.Contains(tu.svc.Calls(), "RevokePasskeys") {
		t.Fatalf("offboard: %d, calls %v", r.StatusCode, tu.svc.Calls())
	}
	for _, want := range []string{"1 device(s) removed", "3 passkey revocation(s) queued", "2 unused invitation(s) cancelled", "something could not be done"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("result page lacks %q", want)
		}
	}
}
