package manager_test

import (
	"context"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/authenticator"
	"github.com/passkeyd/passkeyd/entraemu"
	"github.com/passkeyd/passkeyd/graph"
)

// directGraph is a Graph client acting outside passkeyd (an admin in the
// portal, another tool).
func (v *testEnv) directGraph(t *testing.T) *graph.Client {
	t.Helper()
	g, err := graph.New(passkeyd.GraphConfig{AuthorityHost: v.url, GraphURL: v.url, TenantID: v.set.TenantID, ClientID: v.set.ClientID,
		ClientSecret: passkeyd.Secret(v.set.ClientSecret), RootCAsPEM: []byte(v.caPEM)}, graph.WithNow(v.clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestReconcile(t *testing.T) {
	v := newTestManager(t)
	v.connect(t)
	v.setPolicy(t, passkeyd.PolicyRequired)
	d := v.newDevice(t)
	pk := v.enroll(t, d)
	user := v.set.Users[0].ID
	ctx := context.Background()
	g := v.directGraph(t)

	// A method registered outside passkeyd, e.g. a security key.
	opts, err := g.CreationOptions(ctx, user, 5)
	if err != nil {
		t.Fatal(err)
	}
	att, err := authenticator.New().MakeCredential(opts.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	c := att.Credential()
	foreign, err := g.CreateMethod(ctx, user, passkeyd.CreateMethodRequest{DisplayName: "YubiKey", CredentialID: c.ID,
		ClientDataJSON: c.ClientDataJSON, AttestationObject: c.AttestationObject})
	if err != nil {
		t.Fatal(err)
	}

	// Nothing drifted yet: the foreign method is reported, never touched.
	rep, err := v.m.Reconcile(v.admin, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Users != 1 || len(rep.Missing) != 0 || len(rep.Unmanaged) != 1 || rep.Unmanaged[0].MethodID != foreign.ID {
		t.Fatalf("first report %+v", rep)
	}

	// Someone deletes passkeyd's method in the portal.
	if err := g.DeleteMethod(ctx, user, pk.GraphMethodID); err != nil {
		t.Fatal(err)
	}
	// Right away Graph's lists may lag: a young change is left alone.
	if rep, _ = v.m.Reconcile(v.admin, ""); len(rep.Missing) != 0 {
		t.Fatalf("a just-changed passkey was declared missing: %+v", rep)
	}
	v.clk.Advance(11 * time.Minute)
	rep, err = v.m.Reconcile(v.admin, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing) != 1 || rep.Missing[0].PasskeyID != pk.ID {
		t.Fatalf("report %+v, want %s missing", rep, pk.ID)
	}
	if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyMissing {
		t.Errorf("state %s, want missing", got.State)
	}
	if n := v.emu.Stats().GraphCalls["create"]; n != 2 {
		t.Errorf("%d creates: reconciliation must never re-create (want the 2 made above)", n)
	}
	if len(v.methods()) != 1 {
		t.Errorf("the foreign method was touched: %+v", v.methods())
	}
	if evs := v.auditEvents(t, "passkey.missing"); len(evs) != 1 {
		t.Errorf("%d passkey.missing events, want 1", len(evs))
	}
}

func TestRevokePasskeysInBulk(t *testing.T) {
	v := newTestManager(t)
	v.connect(t)
	v.setPolicy(t, passkeyd.PolicyRequired)
	pk := v.enroll(t, v.newDevice(t))

	if _, err := v.m.RevokePasskeys(v.admin, passkeyd.PasskeyFilter{}); passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
		t.Fatalf("an unfiltered bulk revocation: %v, want EInvalid", err)
	}
	res, err := v.m.RevokePasskeys(v.admin, passkeyd.PasskeyFilter{AAGUID: pk.AAGUID})
	if err != nil {
		t.Fatal(err)
	}
	if res.Matched != 1 || res.Queued != 1 {
		t.Fatalf("result %+v", res)
	}
	if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyRevoking {
		t.Fatalf("state %s", got.State)
	}
	jobs := v.jobs.all()
	if jobs[len(jobs)-1] != (passkeyd.Job{Kind: passkeyd.JobRevokePasskey, PasskeyID: pk.ID}) {
		t.Fatalf("jobs %+v", jobs)
	}
	// Repeating it queues nothing more.
	if res, _ := v.m.RevokePasskeys(v.admin, passkeyd.PasskeyFilter{UserID: pk.UserID}); res.Queued != 0 {
		t.Errorf("repeat queued %d", res.Queued)
	}
	// A permanent failure is retried only by an admin.
	if err := v.emu.InjectFault(entraFault403()); err != nil {
		t.Fatal(err)
	}
	if err := v.m.RevokePasskey(context.Background(), pk.ID); err != nil {
		t.Fatal(err)
	}
	if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyRevokeFailed {
		t.Fatalf("state %s, want revoke_failed", got.State)
	}
	if _, err := v.m.RequestRevocation(v.admin, pk.ID); err != nil {
		t.Fatal(err)
	}
	if err := v.m.RevokePasskey(context.Background(), pk.ID); err != nil {
		t.Fatal(err)
	}
	if got := v.passkey(t, pk.ID); got.State != passkeyd.PasskeyRevoked || len(v.methods()) != 0 {
		t.Fatalf("after retry: %s, %d methods", got.State, len(v.methods()))
	}
}

func entraFault403() entraemu.Fault {
	return entraemu.Fault{Op: entraemu.OpDelete, Status: 403, Count: 1}
}
