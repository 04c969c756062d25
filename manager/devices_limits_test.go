package manager_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/manager"
)

func countActions(t *testing.T, v *testEnv) map[string]int {
	t.Helper()
	_, actions := auditJSON(t, v)
	n := map[string]int{}
	for _, a := range actions {
		n[a]++
	}
	return n
}

// Failed invitation redemptions are anonymous: each is logged, but a
// client gets RegisterFailuresPerClient of them per window, with one audit
// event when it reaches the limit; after that it is refused without its
// code being looked at, and nothing more is audited.
func TestFailedRegistrationsAreLimitedPerClient(t *testing.T) {
	v := newTestManager(t)
	u, err := v.m.CreateUser(v.admin, passkeyd.User{UPN: "alice@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	_, code, err := v.m.CreateInvitation(v.admin, u.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	info := passkeyd.DeviceInfo{Name: "phone"}
	from := func(ip string) context.Context { return passkeyd.WithClientIP(context.Background(), ip) }
	before := countActions(t, v)

	for i := range manager.RegisterFailuresPerClient {
		_, _, err := v.m.RegisterDevice(from("2001:db8::"+fmt.Sprint(i+1)), passkeyd.Secret(fmt.Sprintf("WRONG-CODE-%04d", i)), info)
		wantErr(t, "unknown code", err, passkeyd.EUnauthorized, "unknown invitation code")
	}
	// The same /64: refused, even with a good code, which stays unused.
	_, _, err = v.m.RegisterDevice(from("2001:db8::ffff"), code, info)
	wantErr(t, "over the limit", err, passkeyd.ERateLimited, "too many failed invitation codes")
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) || ra.RetryAfter() <= 0 || ra.RetryAfter() > manager.RegisterFailureWindow {
		t.Errorf("refusal carries no Retry-After within the window: %v", err)
	}
	for range 20 {
		_, _, err = v.m.RegisterDevice(from("2001:db8::1"), "WRONG-CODE-AGAIN", info)
		wantErr(t, "over the limit", err, passkeyd.ERateLimited, "too many failed invitation codes")
	}
	after := countActions(t, v)
	if got := after["device.registration_failed"] - before["device.registration_failed"]; got != manager.RegisterFailuresPerClient {
		t.Errorf("%d device.registration_failed events, want %d", got, manager.RegisterFailuresPerClient)
	}
	if after["device.registration_rate_limited"] != 1 {
		t.Errorf("%d device.registration_rate_limited events, want 1", after["device.registration_rate_limited"])
	}

	// Another client is not affected, and the code was not consumed.
	if _, _, err := v.m.RegisterDevice(from("198.51.100.7"), code, info); err != nil {
		t.Fatalf("another client with the good code: %v", err)
	}
	// Once the window is over, the first client may try again.
	v.clk.Advance(manager.RegisterFailureWindow)
	_, _, err = v.m.RegisterDevice(from("2001:db8::1"), "WRONG-CODE-LATER", info)
	wantErr(t, "after the window", err, passkeyd.EUnauthorized, "unknown invitation code")
}

// However many clients fail, a node audits at most
// RegisterFailureAuditBudget failures per window, then one event saying
// the rest are only logged.
func TestFailedRegistrationsAuditBudget(t *testing.T) {
	v := newTestManager(t)
	info := passkeyd.DeviceInfo{Name: "phone"}
	clients := manager.RegisterFailureAuditBudget/manager.RegisterFailuresPerClient + 5
	for c := range clients {
		ctx := passkeyd.WithClientIP(context.Background(), fmt.Sprintf("192.0.2.%d", c+1))
		for i := range manager.RegisterFailuresPerClient {
			_, _, err := v.m.RegisterDevice(ctx, passkeyd.Secret(fmt.Sprintf("WRONG-%d-%d", c, i)), info)
			wantErr(t, "unknown code", err, passkeyd.EUnauthorized, "unknown invitation code")
		}
	}
	n := countActions(t, v)
	audited := n["device.registration_failed"] + n["device.registration_rate_limited"]
	if audited != manager.RegisterFailureAuditBudget || n["device.registration_audit_suppressed"] != 1 {
		t.Fatalf("audit events %v: want %d failures and limit events together, then one device.registration_audit_suppressed",
			n, manager.RegisterFailureAuditBudget)
	}
}
