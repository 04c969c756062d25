package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
	"github.com/passkeyd/passkeyd/store/postgres"
)

// parallel runs fn(0) … fn(n-1) in goroutines released together and
// returns their errors in order.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = fn(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

func event(action string) passkeyd.AuditEvent {
	return passkeyd.AuditEvent{Actor: "system", Action: action, Outcome: passkeyd.OutcomeSuccess}
}

// Two nodes (two pools on one schema) append to the audit log and create
// users at once: the chain stays one linear chain without gaps.
func TestTwoNodesKeepTheAuditChainLinear(t *testing.T) {
	cfg := freshSchema(t)
	nodes := []*postgres.DB{open(t, cfg, postgres.Options{}), open(t, cfg, postgres.Options{})}
	ctx := context.Background()

	const workers, rounds = 8, 10
	errs := parallel(workers, func(w int) error {
		s := nodes[w%len(nodes)]
		for r := range rounds {
			u := &passkeyd.User{UPN: fmt.Sprintf("w%d-r%d@contoso.com", w, r)}
			if err := s.CreateUser(ctx, u, event("user.created")); err != nil {
				return fmt.Errorf("worker %d: CreateUser: %w", w, err)
			}
			if err := s.AppendAudit(ctx, event("login.failed"), event("login.locked")); err != nil {
				return fmt.Errorf("worker %d: AppendAudit: %w", w, err)
			}
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	rep, err := audit.Verify(ctx, func(ctx context.Context, after int64, limit int) ([]passkeyd.AuditEvent, error) {
		return nodes[0].AuditEvents(ctx, passkeyd.AuditFilter{AfterSeq: after, Limit: limit})
	})
	if err != nil {
		t.Fatalf("audit.Verify: %v", err)
	}
	// Verify reports a gap or fork as not OK; the count proves none was lost.
	if want := int64(workers * rounds * 3); !rep.OK || rep.Events != want {
		t.Errorf("audit report %+v, want OK with %d events", rep, want)
	}
	users, err := nodes[1].Users(ctx, passkeyd.UserFilter{Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}})
	if err != nil || len(users) != workers*rounds {
		t.Errorf("Users = %d, %v; want %d", len(users), err, workers*rounds)
	}
}

// Nodes starting at once on an empty schema all migrate successfully, and
// each migration is applied once.
func TestConcurrentMigrate(t *testing.T) {
	cfg := freshSchema(t)
	ctx := context.Background()
	const n = 3
	nodes := make([]*postgres.DB, n)
	errs := parallel(n, func(i int) error {
		db, err := postgres.OpenConfig(ctx, cfg.Copy(), postgres.Options{})
		nodes[i] = db
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: Open: %v", i, err)
		}
		t.Cleanup(func() { nodes[i].Close() })
	}
	// And an explicit Migrate on every node at once is a no-op.
	for i, err := range parallel(n, func(i int) error { return nodes[i].Migrate(ctx) }) {
		if err != nil {
			t.Errorf("node %d: Migrate: %v", i, err)
		}
	}
	var versions, policies int
	if err := nodes[0].Pool().QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != postgres.SchemaVersion() || versions == 0 {
		t.Errorf("schema_migrations has %d rows, want %d", versions, postgres.SchemaVersion())
	}
	if err := nodes[0].Pool().QueryRow(ctx, `SELECT count(*) FROM policies`).Scan(&policies); err != nil || policies != 1 {
		t.Errorf("%d policies, %v; want the default policy once", policies, err)
	}
}

// Two nodes redeeming one invitation code at once: exactly one device.
func TestTwoNodesRedeemOneCodeOnce(t *testing.T) {
	cfg := freshSchema(t)
	nodes := []*postgres.DB{open(t, cfg, postgres.Options{}), open(t, cfg, postgres.Options{})}
	ctx := context.Background()
	u := &passkeyd.User{UPN: "alice@contoso.com"}
	if err := nodes[0].CreateUser(ctx, u, event("user.created")); err != nil {
		t.Fatal(err)
	}
	code := []byte("code-hash")
	expires := t0.Add(time.Minute)
	if err := nodes[0].CreateInvitation(ctx, &passkeyd.Invitation{UserID: u.ID, CodeHash: code, ExpiresAt: expires},
		event("invitation.created")); err != nil {
		t.Fatal(err)
	}
	errs := parallel(2, func(i int) error {
		d := &passkeyd.Device{Name: fmt.Sprintf("phone %d", i), TokenHash: []byte(fmt.Sprintf("token-%d", i))}
		return nodes[i].RegisterDevice(ctx, code, t0, d, event("device.registered"))
	})
	var ok, gone int
	for _, err := range errs {
		switch passkeyd.ErrorCodeOf(err) {
		case "":
			ok++
		case passkeyd.EGone:
			gone++
		default:
			t.Errorf("RegisterDevice: %v", err)
		}
	}
	if ok != 1 || gone != 1 {
		t.Errorf("%d registered, %d refused as used; want 1 and 1", ok, gone)
	}
	if ds, err := nodes[1].Devices(ctx, passkeyd.DeviceFilter{}); err != nil || len(ds) != 1 {
		t.Errorf("Devices = %d, %v; want 1", len(ds), err)
	}
}
