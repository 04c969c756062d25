package storetest

import (
	"fmt"
	"testing"

	passkeyd "github.com/passkeyd/passkeyd"
)

func testUsers(t *testing.T, e *env) {
	u := &passkeyd.User{UPN: "Alice.Smith@Contoso.com", EntraObjectID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
		DisplayName: "Alice Smith", PolicyID: passkeyd.DefaultPolicyID, CreatedAt: t0, UpdatedAt: t0}
	if err := e.s.CreateUser(e.ctx, u, ev("user.created", "user", "")); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.ID == "" {
		t.Fatal("CreateUser assigned no ID")
	}
	got, err := e.s.User(e.ctx, u.ID)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	if *got != *u {
		t.Errorf("User =\n%+v\nwant\n%+v", *got, *u)
	}
	for _, upn := range []string{"alice.smith@contoso.com", "ALICE.SMITH@CONTOSO.COM", u.UPN} {
		got, err := e.s.UserByUPN(e.ctx, upn)
		if err != nil || got.ID != u.ID {
			t.Errorf("UserByUPN(%q) = %v, %v; want %s", upn, got, err, u.ID)
		}
	}
	_, err = e.s.User(e.ctx, "nope")
	wantCode(t, "User(unknown)", err, passkeyd.ENotFound, "user not found")
	_, err = e.s.UserByUPN(e.ctx, "bob@contoso.com")
	wantCode(t, "UserByUPN(unknown)", err, passkeyd.ENotFound, "user not found")

	// Times default to the store's clock; optional fields stay empty.
	v := &passkeyd.User{UPN: "bob@contoso.com"}
	if err := e.s.CreateUser(e.ctx, v, ev("user.created", "user", "")); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err = e.s.User(e.ctx, v.ID)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	if got.CreatedAt.IsZero() || !got.CreatedAt.Equal(v.CreatedAt) || got.EntraObjectID != "" || got.PolicyID != "" {
		t.Errorf("User = %+v, want clock-filled times and empty optional fields", got)
	}
}

func testUserConflicts(t *testing.T, e *env) {
	u := &passkeyd.User{UPN: "alice@contoso.com", EntraObjectID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}
	if err := e.s.CreateUser(e.ctx, u, ev("user.created", "user", "")); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	// Two users without object ID do not conflict.
	for i := range 2 {
		if err := e.s.CreateUser(e.ctx, &passkeyd.User{UPN: fmt.Sprintf("noid%d@contoso.com", i)}, ev("user.created", "user", "")); err != nil {
			t.Fatalf("CreateUser without object ID: %v", err)
		}
	}
	before := len(e.events())
	cases := []struct {
		name string
		u    passkeyd.User
		code passkeyd.ErrorCode
		msg  string
	}{
		{"same UPN", passkeyd.User{UPN: "alice@contoso.com"}, passkeyd.EConflict, "a user with this UPN already exists"},
		{"UPN in other case", passkeyd.User{UPN: "ALICE@Contoso.COM"}, passkeyd.EConflict, "a user with this UPN already exists"},
		{"same object ID", passkeyd.User{UPN: "other@contoso.com", EntraObjectID: "AAAAAAAA-bbbb-cccc-dddd-eeeeeeeeeeee"},
			passkeyd.EConflict, "a user with this Entra object ID already exists"},
		{"same ID", passkeyd.User{ID: u.ID, UPN: "third@contoso.com"}, passkeyd.EConflict, "a user with this ID already exists"},
		{"unknown policy", passkeyd.User{UPN: "fourth@contoso.com", PolicyID: "nope"}, passkeyd.ENotFound, "policy not found"},
	}
	for _, tc := range cases {
		u := tc.u
		err := e.s.CreateUser(e.ctx, &u, ev("user.created", "user", ""))
		wantCode(t, "CreateUser("+tc.name+")", err, tc.code, tc.msg)
	}
	e.unchangedAudit("failed CreateUser", before)
	us, err := e.s.Users(e.ctx, passkeyd.UserFilter{})
	if err != nil || len(us) != 3 {
		t.Errorf("Users = %d users, %v; want 3 (failed creates wrote nothing)", len(us), err)
	}
}

func testUsersPagination(t *testing.T, e *env) {
	var ids []string
	for _, name := range []string{"Carol", "Dave", "Erin_x", "Frank", "Grace"} {
		u := &passkeyd.User{UPN: name[:1] + "@contoso.com", DisplayName: name}
		if name == "Erin_x" {
			u.UPN = "erin@contoso.com"
		}
		if err := e.s.CreateUser(e.ctx, u, ev("user.created", "user", "")); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		ids = append(ids, u.ID)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		page, err := e.s.Users(e.ctx, passkeyd.UserFilter{Page: passkeyd.Page{Cursor: cursor, Limit: 2}})
		if err != nil {
			t.Fatalf("Users: %v", err)
		}
		if len(page) > 2 {
			t.Fatalf("page of %d users with limit 2", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, u := range page {
			got = append(got, u.ID)
		}
		cursor = page[len(page)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("paged IDs = %v, want creation order %v", got, ids)
	}

	queries := []struct {
		q    string
		want int
	}{
		{"", 5},
		{"GRACE", 1},   // display name, other case
		{"erin@", 1},   // UPN
		{"CONTOSO", 5}, // UPN, other case
		{"_", 1},       // a literal underscore, not a wildcard
		{"%", 0},       // a literal percent sign
		{"nobody", 0},
	}
	for _, q := range queries {
		us, err := e.s.Users(e.ctx, passkeyd.UserFilter{Query: q.q})
		if err != nil || len(us) != q.want {
			t.Errorf("Users(query %q) = %d users, %v; want %d", q.q, len(us), err, q.want)
		}
	}
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'a'
	}
	_, err := e.s.Users(e.ctx, passkeyd.UserFilter{Query: string(long)})
	wantCode(t, "Users(300-character query)", err, passkeyd.EInvalid, "")
}
