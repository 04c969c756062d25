package storetest

import (
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

// testUpdateUser: a user's policy and display name change, with an audit
// event; an unknown user or policy is ENotFound and changes nothing.
func testUpdateUser(t *testing.T, e *env) {
	u := &passkeyd.User{UPN: "dora@contoso.com", DisplayName: "Dora"}
	if err := e.s.CreateUser(e.ctx, u, ev("user.created", "user", "")); err != nil {
		t.Fatal(err)
	}
	p := &passkeyd.Policy{ID: "7f1c4a0e-2b3d-4e5f-8a9b-0c1d2e3f4a5b", Name: "Finance", EntraPasskey: passkeyd.PolicyRequired}
	if err := e.s.PutPolicy(e.ctx, p, ev("policy.updated", "policy", p.ID)); err != nil {
		t.Fatal(err)
	}
	u.PolicyID, u.DisplayName = p.ID, "Dora D."
	if err := e.s.UpdateUser(e.ctx, u, ev("user.updated", "user", u.ID)); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got, err := e.s.User(e.ctx, u.ID)
	if err != nil || got.PolicyID != p.ID || got.DisplayName != "Dora D." || got.UPN != "dora@contoso.com" {
		t.Fatalf("User after update = %+v, %v", got, err)
	}
	bad := *got
	bad.PolicyID = "00000000-0000-0000-0000-00000000dead"
	if err := e.s.UpdateUser(e.ctx, &bad, ev("user.updated", "user", u.ID)); passkeyd.ErrorCodeOf(err) != passkeyd.ENotFound {
		t.Fatalf("UpdateUser with an unknown policy = %v, want ENotFound", err)
	}
	ghost := passkeyd.User{ID: "00000000-0000-0000-0000-00000000beef", UPN: "ghost@contoso.com"}
	if err := e.s.UpdateUser(e.ctx, &ghost, ev("user.updated", "user", ghost.ID)); passkeyd.ErrorCodeOf(err) != passkeyd.ENotFound {
		t.Fatalf("UpdateUser of an unknown user = %v, want ENotFound", err)
	}
	if got, _ := e.s.User(e.ctx, u.ID); got.PolicyID != p.ID {
		t.Fatalf("a refused update changed the user: %+v", got)
	}
}
