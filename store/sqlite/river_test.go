package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/store/sqlite"
)

type revokeArgs struct {
	PasskeyID string `json:"passkey_id"`
}

func (revokeArgs) Kind() string { return string(passkeyd.JobRevokePasskey) }

// TestRiverSharesTheConnection proves the design of one connection shared
// with the queue: River migrates its tables into the same file and inserts
// jobs inside the store's transaction.
func TestRiverSharesTheConnection(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	driver := riversqlite.New(db.SQL())
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatalf("river migrate: %v", err)
	}
	client, err := river.NewClient(driver, &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db.SetEnqueuer(func(ctx context.Context, tx any, jobs []passkeyd.Job) error {
		sqlTx, ok := tx.(*sql.Tx)
		if !ok {
			return fmt.Errorf("tx is %T, want *sql.Tx", tx)
		}
		for _, j := range jobs {
			if _, err := client.InsertTx(ctx, sqlTx, revokeArgs{PasskeyID: j.PasskeyID}, nil); err != nil {
				return err
			}
		}
		return nil
	})

	u := &passkeyd.User{UPN: "a@contoso.com"}
	if err := db.CreateUser(ctx, u, ev("user.created")); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateInvitation(ctx, &passkeyd.Invitation{UserID: u.ID, CodeHash: []byte("c"), ExpiresAt: t0Plus()}, ev("invitation.created")); err != nil {
		t.Fatal(err)
	}
	d := &passkeyd.Device{Name: "d", TokenHash: []byte("t")}
	if err := db.RegisterDevice(ctx, []byte("c"), t0Plus().AddDate(0, 0, -1), d, ev("device.registered")); err != nil {
		t.Fatal(err)
	}
	e := &passkeyd.Enrollment{UserID: u.ID, DeviceID: d.ID, State: passkeyd.EnrollmentOptionsIssued, ChallengeExpiresAt: t0Plus()}
	if err := db.CreateEnrollment(ctx, e, ev("enrollment.created")); err != nil {
		t.Fatal(err)
	}
	p := &passkeyd.Passkey{UserID: u.ID, DeviceID: d.ID, CredentialID: "cred"}
	if err := db.BeginRegistration(ctx, e, p, ev("passkey.registering")); err != nil {
		t.Fatal(err)
	}

	if _, _, err := db.RemoveDevice(ctx, d.ID, t0Plus(), ev("device.removed")); err != nil {
		t.Fatalf("RemoveDevice: %v", err)
	}
	var jobs int
	var kind string
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*), MAX(kind) FROM river_job`).Scan(&jobs, &kind); err != nil {
		t.Fatal(err)
	}
	if jobs != 1 || kind != string(passkeyd.JobRevokePasskey) {
		t.Errorf("river_job holds %d jobs of kind %q, want 1 %s", jobs, kind, passkeyd.JobRevokePasskey)
	}
	if rep := verify(t, db); !rep.OK {
		t.Errorf("chain: %+v", rep)
	}
}

// t0Plus is a fixed time far in the future, so invitations are valid.
func t0Plus() time.Time { return time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC) }
