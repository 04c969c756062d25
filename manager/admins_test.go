package manager_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/manager"
)

const adminPassword = "correct horse battery staple"

// seedAdmin stores an admin whose hash uses cheap argon2id parameters
// (the manager's defaults cost about a second each), built here from the
// PHC format rather than by the code under test.
func seedAdmin(t *testing.T, v *testEnv, username string, disabled bool) *passkeyd.AdminUser {
	t.Helper()
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(adminPassword), salt, 1, 8, 1, 32)
	enc := base64.RawStdEncoding
	u := &passkeyd.AdminUser{Username: username, Role: passkeyd.RoleAdmin,
		PasswordHash: fmt.Sprintf("$argon2id$v=19$m=8,t=1,p=1$%s$%s", enc.EncodeToString(salt), enc.EncodeToString(key))}
	if disabled {
		at := v.clk.Now()
		u.DisabledAt = &at
	}
	if err := v.db.CreateAdminUser(context.Background(), u, passkeyd.AuditEvent{Actor: "system", Action: "admin.created", Outcome: passkeyd.OutcomeSuccess}); err != nil {
		t.Fatalf("CreateAdminUser: %v", err)
	}
	return u
}

func wantErr(t *testing.T, what string, err error, code passkeyd.ErrorCode, msg string) {
	t.Helper()
	if got := passkeyd.ErrorCodeOf(err); got != code {
		t.Fatalf("%s: %v (code %q), want %q", what, err, got, code)
	}
	if m := passkeyd.ErrorMessage(err); !strings.Contains(m, msg) {
		t.Errorf("%s: message %q, want it to contain %q", what, m, msg)
	}
}

// auditJSON returns every audit event as JSON, and the actions in order.
func auditJSON(t *testing.T, v *testEnv) (string, []string) {
	t.Helper()
	evs, err := v.db.AuditEvents(context.Background(), passkeyd.AuditFilter{Limit: passkeyd.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	return string(b), actions
}

func TestCreateAdminValidates(t *testing.T) {
	v := newTestManager(t)
	ctx := context.Background()
	cases := []struct {
		name, user, pw string
		role           passkeyd.Role
		field          string
	}{
		{"short username", "ab", adminPassword, passkeyd.RoleAdmin, "username"},
		{"long username", strings.Repeat("a", 65), adminPassword, passkeyd.RoleAdmin, "username"},
		{"space in username", "a b c", adminPassword, passkeyd.RoleAdmin, "username"},
		{"non-ASCII username", "jérôme", adminPassword, passkeyd.RoleAdmin, "username"},
		{"control character", "abc\x00", adminPassword, passkeyd.RoleAdmin, "username"},
		{"short password", "alice", "elevenchars", passkeyd.RoleAdmin, "password"},
		{"long password", "alice", strings.Repeat("p", 1025), passkeyd.RoleAdmin, "password"},
		{"unknown role", "alice", adminPassword, "root", "role"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.m.CreateAdmin(ctx, tc.user, passkeyd.Secret(tc.pw), tc.role)
			wantErr(t, tc.name, err, passkeyd.EInvalid, "invalid admin")
			b, _ := json.Marshal(err)
			if !strings.Contains(string(b)+err.Error(), tc.field) {
				t.Errorf("error %v does not name the field %q", err, tc.field)
			}
		})
	}
	if n, err := v.db.CountAdminUsers(ctx); err != nil || n != 0 {
		t.Errorf("CountAdminUsers = %d, %v; want 0", n, err)
	}
}

func TestCreateAdminThenLogin(t *testing.T) {
	v := newTestManager(t)
	ctx := context.Background()
	u, err := v.m.CreateAdmin(ctx, " Alice ", adminPassword, passkeyd.RoleOperator)
	if err != nil {
		t.Fatalf("CreateAdmin: %v", err)
	}
	// newTestManager configures cheap parameters; the defaults are RFC
	// 9106's (TestPasswordHashingDefaults).
	if u.Username != "Alice" || u.Role != passkeyd.RoleOperator || !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("admin = %+v, want Alice, operator, the configured parameters", u)
	}
	// The hash is argon2id of the password under the stored salt.
	parts := strings.Split(u.PasswordHash, "$")
	salt, _ := base64.RawStdEncoding.DecodeString(parts[4])
	want := base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte(adminPassword), salt, 1, 64, 1, 32))
	if parts[5] != want {
		t.Errorf("stored hash %s, want %s", parts[5], want)
	}
	_, err = v.m.CreateAdmin(ctx, "ALICE", "another good password", passkeyd.RoleAdmin)
	wantErr(t, "duplicate username", err, passkeyd.EConflict, "an admin with this username already exists")

	got, _, _, err := v.m.Login(ctx, "alice", adminPassword)
	if err != nil || got.ID != u.ID {
		t.Fatalf("Login = %+v, %v; want admin %s", got, err, u.ID)
	}
	all, actions := auditJSON(t, v)
	if strings.Join(actions, ",") != "admin.created,admin.login" {
		t.Errorf("audit actions %v, want admin.created, admin.login", actions)
	}
	if strings.Contains(all, adminPassword) || strings.Contains(all, parts[5]) {
		t.Errorf("audit log contains the password or its hash: %s", all)
	}
}

func TestLogin(t *testing.T) {
	v := newTestManager(t)
	ctx := context.Background()
	a := seedAdmin(t, v, "alice", false)
	seedAdmin(t, v, "dave", true)

	u, s, tok, err := v.m.Login(ctx, "Alice", adminPassword)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if u.ID != a.ID || s.AdminID != a.ID || !s.ExpiresAt.Equal(t0.Add(passkeyd.SessionAbsoluteTimeout)) || !s.LastSeenAt.Equal(t0) {
		t.Errorf("Login = %+v, %+v", u, s)
	}
	if !strings.HasPrefix(tok.Reveal(), "pkd_ses_") || len(tok.Reveal()) < 40 {
		t.Errorf("token %q, want pkd_ses_ and 32 random bytes", tok.Reveal())
	}
	if string(s.TokenHash) == tok.Reveal() || len(s.TokenHash) != 32 {
		t.Errorf("session stores %x, want the SHA-256 of the token", s.TokenHash)
	}
	if got, _, err := v.m.SessionAdmin(ctx, tok); err != nil || got.ID != a.ID {
		t.Errorf("SessionAdmin = %+v, %v", got, err)
	}

	// Wrong password and unknown user answer alike.
	for _, c := range []struct{ user, pw string }{{"alice", "wrong password!"}, {"mallory", adminPassword}} {
		_, _, _, err := v.m.Login(ctx, c.user, passkeyd.Secret(c.pw))
		wantErr(t, "Login("+c.user+")", err, passkeyd.EUnauthorized, "invalid username or password")
		if passkeyd.ErrorMessage(err) != "invalid username or password" {
			t.Errorf("Login(%s) message %q differs", c.user, passkeyd.ErrorMessage(err))
		}
	}
	_, _, _, err = v.m.Login(ctx, "dave", adminPassword)
	wantErr(t, "Login(disabled)", err, passkeyd.EForbidden, "disabled")

	for user, want := range map[string]int{"alice": 1, "mallory": 1, "dave": 0} {
		if n, _ := v.db.CountLoginFailures(ctx, user, t0); n != want {
			t.Errorf("%s has %d recorded failures, want %d", user, n, want)
		}
	}
	all, actions := auditJSON(t, v)
	wantActions := "admin.created,admin.created,admin.login,admin.login_failed,admin.login_failed,admin.login_failed"
	if strings.Join(actions, ",") != wantActions {
		t.Errorf("audit actions %v, want %s", actions, wantActions)
	}
	for _, secret := range []string{adminPassword, "wrong password!", tok.Reveal()} {
		if strings.Contains(all, secret) {
			t.Errorf("audit log contains %q: %s", secret, all)
		}
	}
}

func TestLoginRateLimit(t *testing.T) {
	v := newTestManager(t)
	ctx := context.Background()
	seedAdmin(t, v, "alice", false)
	for i := range passkeyd.MaxFailedLogins {
		_, _, _, err := v.m.Login(ctx, "alice", "wrong password!")
		wantErr(t, fmt.Sprintf("failure %d", i+1), err, passkeyd.EUnauthorized, "invalid username or password")
		v.clk.Advance(30 * time.Second) // 100 failures span 50 minutes
	}
	// The 101st attempt within the hour is refused before the password is
	// checked, even the right one.
	_, _, _, err := v.m.Login(ctx, "ALICE", adminPassword)
	wantErr(t, "attempt 101", err, passkeyd.ERateLimited, "too many failed logins")
	// Once the first failure is more than an hour old, attempts resume.
	v.clk.Advance(10*time.Minute + time.Second)
	if _, _, _, err := v.m.Login(ctx, "alice", adminPassword); err != nil {
		t.Fatalf("Login after the hour: %v", err)
	}
}

func TestSessionTimeouts(t *testing.T) {
	cases := []struct {
		name  string
		steps []time.Duration // advance, then SessionAdmin must succeed
		last  time.Duration   // advance, then SessionAdmin must fail
	}{
		{"idle", nil, passkeyd.SessionIdleTimeout},
		{"idle clock refreshed by use", []time.Duration{29 * time.Minute, 29 * time.Minute}, passkeyd.SessionIdleTimeout},
		{"absolute despite use", repeat(24, 29*time.Minute) /* 11h36 */, 24 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestManager(t)
			ctx := context.Background()
			seedAdmin(t, v, "alice", false)
			_, _, tok, err := v.m.Login(ctx, "alice", adminPassword)
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range tc.steps {
				v.clk.Advance(d)
				_, s, err := v.m.SessionAdmin(ctx, tok)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if !s.LastSeenAt.Equal(v.clk.Now()) {
					t.Errorf("step %d: LastSeenAt %v, want refreshed to %v", i, s.LastSeenAt, v.clk.Now())
				}
			}
			v.clk.Advance(tc.last)
			_, _, err = v.m.SessionAdmin(ctx, tok)
			wantErr(t, "SessionAdmin after timeout", err, passkeyd.EUnauthorized, "invalid or expired session")
		})
	}
}

func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// The idle clock is written at most once a minute.
func TestSessionTouchIsThrottled(t *testing.T) {
	v := newTestManager(t)
	ctx := context.Background()
	seedAdmin(t, v, "alice", false)
	_, _, tok, err := v.m.Login(ctx, "alice", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	v.clk.Advance(59 * time.Second)
	if _, s, err := v.m.SessionAdmin(ctx, tok); err != nil || !s.LastSeenAt.Equal(t0) {
		t.Errorf("after 59 s: LastSeenAt %v, %v; want unchanged %v", s.LastSeenAt, err, t0)
	}
	v.clk.Advance(time.Second)
	if _, s, err := v.m.SessionAdmin(ctx, tok); err != nil || !s.LastSeenAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("after 60 s: LastSeenAt %v, %v; want refreshed", s.LastSeenAt, err)
	}
}

func TestLogout(t *testing.T) {
	v := newTestManager(t)
	ctx := context.Background()
	seedAdmin(t, v, "alice", false)
	_, _, tok, err := v.m.Login(ctx, "alice", adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.m.Logout(ctx, tok); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	_, _, err = v.m.SessionAdmin(ctx, tok)
	wantErr(t, "SessionAdmin after logout", err, passkeyd.EUnauthorized, "invalid or expired session")
	for _, tk := range []passkeyd.Secret{tok, "pkd_ses_unknown", "garbage"} {
		if err := v.m.Logout(ctx, tk); err != nil {
			t.Errorf("Logout(ended or unknown) = %v, want nil", err)
		}
	}
	if _, actions := auditJSON(t, v); strings.Join(actions, ",") != "admin.created,admin.login,admin.logout" {
		t.Errorf("audit actions %v, want one admin.logout", actions)
	}
}

func TestPasswordHashingDefaults(t *testing.T) {
	// RFC 9106 §4, second recommended option: 64 MiB, 3 passes.
	if d := manager.DefaultPasswordHashing(); d.MemoryKiB != 64*1024 || d.Time != 3 || d.Threads < 1 {
		t.Fatalf("DefaultPasswordHashing = %+v", d)
	}
}
