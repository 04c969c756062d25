package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// admin creates an admin with a unique username.
func (e *env) admin() *passkeyd.AdminUser {
	e.t.Helper()
	n := e.next()
	u := &passkeyd.AdminUser{Username: fmt.Sprintf("Admin%d", n), Role: passkeyd.RoleAdmin,
		PasswordHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA"}
	if err := e.s.CreateAdminUser(e.ctx, u, ev("admin.created", "admin", "")); err != nil {
		e.t.Fatalf("CreateAdminUser: %v", err)
	}
	return u
}

func testAdminUsers(t *testing.T, e *env) {
	if n, err := e.s.CountAdminUsers(e.ctx); err != nil || n != 0 {
		t.Fatalf("CountAdminUsers on an empty store = %d, %v; want 0", n, err)
	}
	disabled := t0.Add(time.Hour)
	u := &passkeyd.AdminUser{Username: "Alice", Role: passkeyd.RoleAuditor, PasswordHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA",
		CreatedAt: t0, UpdatedAt: t0, DisabledAt: &disabled}
	if err := e.s.CreateAdminUser(e.ctx, u, ev("admin.created", "admin", "")); err != nil {
		t.Fatalf("CreateAdminUser: %v", err)
	}
	if u.ID == "" {
		t.Fatal("CreateAdminUser left the ID empty")
	}
	for _, name := range []string{"Alice", "alice", "ALICE"} {
		got, err := e.s.AdminUserByUsername(e.ctx, name)
		if err != nil {
			t.Fatalf("AdminUserByUsername(%q): %v", name, err)
		}
		if !reflect.DeepEqual(got, u) {
			t.Errorf("AdminUserByUsername(%q) =\n%+v\nwant\n%+v", name, got, u)
		}
	}
	got, err := e.s.AdminUser(e.ctx, u.ID)
	if err != nil || !reflect.DeepEqual(got, u) {
		t.Errorf("AdminUser = %+v, %v; want %+v", got, err, u)
	}
	_, err = e.s.AdminUserByUsername(e.ctx, "bob")
	wantCode(t, "AdminUserByUsername(unknown)", err, passkeyd.ENotFound, "admin not found")
	_, err = e.s.AdminUser(e.ctx, "nope")
	wantCode(t, "AdminUser(unknown)", err, passkeyd.ENotFound, "admin not found")

	before := len(e.events())
	dup := &passkeyd.AdminUser{Username: "aLiCe", Role: passkeyd.RoleAdmin, PasswordHash: "x"}
	err = e.s.CreateAdminUser(e.ctx, dup, ev("admin.created", "admin", ""))
	wantCode(t, "CreateAdminUser(taken username, other case)", err, passkeyd.EConflict, "an admin with this username already exists")
	e.unchangedAudit("CreateAdminUser(taken username)", before)

	e.admin()
	if n, err := e.s.CountAdminUsers(e.ctx); err != nil || n != 2 {
		t.Errorf("CountAdminUsers = %d, %v; want 2", n, err)
	}
	if evs := e.events(); len(evs) != 2 || evs[0].Action != "admin.created" {
		t.Errorf("audit events = %+v, want two admin.created", evs)
	}
	e.verifyChain()
}

func testSessions(t *testing.T, e *env) {
	a := e.admin()
	s := &passkeyd.Session{AdminID: a.ID, TokenHash: []byte("session-hash-1"), CreatedAt: t0,
		ExpiresAt: t0.Add(passkeyd.SessionAbsoluteTimeout)}
	if err := e.s.CreateSession(e.ctx, s, ev("admin.login", "admin", a.ID)); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if s.ID == "" || !sameTime(s.LastSeenAt, t0) {
		t.Errorf("CreateSession left ID %q LastSeenAt %v, want an ID and LastSeenAt = CreatedAt", s.ID, s.LastSeenAt)
	}
	got, err := e.s.SessionByTokenHash(e.ctx, []byte("session-hash-1"))
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("SessionByTokenHash = %+v, %v; want %+v", got, err, s)
	}
	_, err = e.s.SessionByTokenHash(e.ctx, []byte("nope"))
	wantCode(t, "SessionByTokenHash(unknown)", err, passkeyd.ENotFound, "session not found")

	// TouchSession moves LastSeenAt forward only.
	later := t0.Add(5 * time.Minute)
	for _, at := range []time.Time{later, t0.Add(time.Minute)} {
		if err := e.s.TouchSession(e.ctx, s.ID, at); err != nil {
			t.Fatalf("TouchSession(%v): %v", at, err)
		}
	}
	if got, err := e.s.SessionByTokenHash(e.ctx, s.TokenHash); err != nil || !sameTime(got.LastSeenAt, later) {
		t.Errorf("LastSeenAt after touches = %v, %v; want %v", got.LastSeenAt, err, later)
	}
	wantCode(t, "TouchSession(unknown)", e.s.TouchSession(e.ctx, "nope", later), passkeyd.ENotFound, "session not found")

	before := len(e.events())
	dup := &passkeyd.Session{AdminID: a.ID, TokenHash: s.TokenHash, CreatedAt: t0, ExpiresAt: s.ExpiresAt}
	wantCode(t, "CreateSession(taken token hash)", e.s.CreateSession(e.ctx, dup, ev("admin.login", "admin", a.ID)),
		passkeyd.EConflict, "a session with this token already exists")
	orphan := &passkeyd.Session{AdminID: "nope", TokenHash: []byte("session-hash-2"), CreatedAt: t0, ExpiresAt: s.ExpiresAt}
	wantCode(t, "CreateSession(unknown admin)", e.s.CreateSession(e.ctx, orphan, ev("admin.login", "admin", "nope")),
		passkeyd.ENotFound, "admin not found")
	e.unchangedAudit("refused CreateSession", before)

	if err := e.s.DeleteSession(e.ctx, s.ID, ev("admin.logout", "admin", a.ID)); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	_, err = e.s.SessionByTokenHash(e.ctx, s.TokenHash)
	wantCode(t, "SessionByTokenHash(deleted)", err, passkeyd.ENotFound, "session not found")
	before = len(e.events())
	wantCode(t, "DeleteSession(again)", e.s.DeleteSession(e.ctx, s.ID, ev("admin.logout", "admin", a.ID)), passkeyd.ENotFound, "session not found")
	e.unchangedAudit("DeleteSession(again)", before)
	e.verifyChain()
}

// A new session clears its admin's dead sessions, and only those.
func testSessionsPruned(t *testing.T, e *env) {
	a, b := e.admin(), e.admin()
	mk := func(admin *passkeyd.AdminUser, hash string, created, seen, expires time.Time) *passkeyd.Session {
		t.Helper()
		s := &passkeyd.Session{AdminID: admin.ID, TokenHash: []byte(hash), CreatedAt: created, LastSeenAt: seen, ExpiresAt: expires}
		if err := e.s.CreateSession(e.ctx, s, ev("admin.login", "admin", admin.ID)); err != nil {
			t.Fatalf("CreateSession(%s): %v", hash, err)
		}
		return s
	}
	now := t0.Add(24 * time.Hour)
	old := now.Add(-13 * time.Hour)
	mk(a, "expired", old, now.Add(-time.Minute), now)
	mk(a, "idle", now.Add(-time.Hour), now.Add(-passkeyd.SessionIdleTimeout), now.Add(time.Hour))
	mk(a, "live", now.Add(-time.Hour), now.Add(-time.Minute), now.Add(time.Hour))
	mk(b, "other-admin-idle", now.Add(-time.Hour), now.Add(-time.Hour), now.Add(time.Hour))
	mk(a, "new", now, now, now.Add(passkeyd.SessionAbsoluteTimeout))
	for hash, want := range map[string]bool{"expired": false, "idle": false, "live": true, "other-admin-idle": true, "new": true} {
		_, err := e.s.SessionByTokenHash(e.ctx, []byte(hash))
		if exists := err == nil; exists != want {
			t.Errorf("session %s exists = %v (%v), want %v", hash, exists, err, want)
		}
	}
}

func testLoginFailures(t *testing.T, e *env) {
	fail := func(user string, at time.Time) {
		t.Helper()
		if err := e.s.RecordLoginFailure(e.ctx, user, at, failed("admin.login_failed", user)); err != nil {
			t.Fatalf("RecordLoginFailure(%s, %v): %v", user, at, err)
		}
	}
	count := func(user string, since time.Time) int {
		t.Helper()
		n, err := e.s.CountLoginFailures(e.ctx, user, since)
		if err != nil {
			t.Fatalf("CountLoginFailures: %v", err)
		}
		return n
	}
	if n := count("alice", t0.Add(-time.Hour)); n != 0 {
		t.Errorf("failures before any = %d, want 0", n)
	}
	fail("alice", t0)
	fail("ALICE", t0.Add(time.Minute))
	fail("Alice", t0.Add(2*time.Minute))
	fail("bob", t0.Add(time.Minute))
	cases := []struct {
		user  string
		since time.Time
		want  int
	}{
		{"alice", t0, 3},
		{"aLiCe", t0.Add(-time.Hour), 3},
		{"alice", t0.Add(time.Minute), 2}, // since is inclusive
		{"alice", t0.Add(3 * time.Minute), 0},
		{"bob", t0, 1},
		{"carol", t0, 0},
	}
	for _, tc := range cases {
		if n := count(tc.user, tc.since); n != tc.want {
			t.Errorf("CountLoginFailures(%s, since %v) = %d, want %d", tc.user, tc.since, n, tc.want)
		}
	}
	evs := e.events()
	if len(evs) != 4 || evs[0].Action != "admin.login_failed" || evs[0].Outcome != passkeyd.OutcomeFailure {
		t.Errorf("audit events = %+v, want four admin.login_failed failures", evs)
	}

	// Failures beyond the retention are forgotten by the next record.
	later := t0.Add(passkeyd.LoginFailureRetention + 90*time.Second)
	fail("bob", later)
	if n := count("alice", t0.Add(-time.Hour)); n != 1 {
		t.Errorf("alice's failures after retention = %d, want 1 (the one 2 minutes in, still within retention)", n)
	}
	if n := count("bob", t0.Add(-time.Hour)); n != 1 {
		t.Errorf("bob's failures after retention = %d, want 1 (only the new one)", n)
	}
	e.verifyChain()
}

func failed(action, username string) passkeyd.AuditEvent {
	x := ev(action, "admin", "")
	x.Outcome = passkeyd.OutcomeFailure
	x.Reason = "invalid username or password"
	x.Details = []byte(fmt.Sprintf(`{"username":%q}`, username))
	return x
}
