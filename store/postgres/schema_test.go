package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/store/postgres"
)

// t0 is a fixed time with microseconds.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)

// Every unique index of the schema has a precise conflict message, so a
// new one cannot be added without one.
func TestUniqueIndexesHaveMessages(t *testing.T) {
	db := open(t, freshSchema(t), postgres.Options{})
	ctx := context.Background()
	rows, err := db.Pool().Query(ctx, `SELECT i.relname FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
		WHERE x.indisunique AND n.nspname = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		seen++
		// Only the migration writes the lock row of the chain.
		if _, ok := postgres.UniqueMessages[name]; !ok && name != "audit_chain_pkey" {
			t.Errorf("unique index %s has no conflict message", name)
		}
	}
	if err := rows.Err(); err != nil || seen < 10 {
		t.Errorf("found %d unique indexes, %v", seen, err)
	}
}

func TestAuditEventsAreAppendOnly(t *testing.T) {
	db := open(t, freshSchema(t), postgres.Options{})
	ctx := context.Background()
	if err := db.AppendAudit(ctx, passkeyd.AuditEvent{Actor: "system", Action: "x.y", Outcome: passkeyd.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE audit_events SET actor = 'mallory'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
	} {
		_, err := db.Pool().Exec(ctx, sql)
		if err == nil || !strings.Contains(err.Error(), "audit events are append-only") {
			t.Errorf("%s: %v, want refused as append-only", sql, err)
		}
	}
}

// Input PostgreSQL cannot store is refused as invalid, without SQL in the
// message shown to callers.
func TestUnstorableInput(t *testing.T) {
	db := open(t, freshSchema(t), postgres.Options{})
	ctx := context.Background()
	cases := []struct {
		name string
		err  error
	}{
		{"NUL in text", db.CreateUser(ctx, &passkeyd.User{UPN: "a@contoso.com", DisplayName: "a\x00b"},
			passkeyd.AuditEvent{Actor: "system", Action: "user.created", Outcome: passkeyd.OutcomeSuccess})},
		{"unknown policy mode", db.PutPolicy(ctx, &passkeyd.Policy{ID: "p", Name: "P", EntraPasskey: "sometimes"},
			passkeyd.AuditEvent{Actor: "system", Action: "policy.updated", Outcome: passkeyd.OutcomeSuccess})},
	}
	for _, tc := range cases {
		if code := passkeyd.ErrorCodeOf(tc.err); code != passkeyd.EInvalid {
			t.Errorf("%s: %v (code %q), want %q", tc.name, tc.err, code, passkeyd.EInvalid)
		}
		msg := strings.ToUpper(passkeyd.ErrorMessage(tc.err))
		for _, sql := range []string{"INSERT", "SELECT", "SQLSTATE"} {
			if strings.Contains(msg, sql) {
				t.Errorf("%s: message %q shows SQL", tc.name, msg)
			}
		}
	}
	if evs, err := db.AuditEvents(ctx, passkeyd.AuditFilter{}); err != nil || len(evs) != 0 {
		t.Errorf("%d audit events, %v; want none for refused writes", len(evs), err)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	cfg := freshSchema(t)
	db := open(t, cfg, postgres.Options{})
	ctx := context.Background()
	if _, err := db.Pool().Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', now())`); err != nil {
		t.Fatal(err)
	}
	err := db.Migrate(ctx)
	if passkeyd.ErrorCodeOf(err) != passkeyd.EUnavailable || !strings.Contains(passkeyd.ErrorMessage(err), "upgrade passkeyd") {
		t.Errorf("Migrate = %v, want EUnavailable asking to upgrade", err)
	}
	if _, err := postgres.OpenConfig(ctx, cfg.Copy(), postgres.Options{}); passkeyd.ErrorCodeOf(err) != passkeyd.EUnavailable {
		t.Errorf("Open on a newer schema = %v, want EUnavailable", err)
	}
}
