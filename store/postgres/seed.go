package postgres

// Bulk seeding, for benchmarks only (passkeyd bench --scale). The rows come
// from store/seedgen, shared with the other store's seeder, so both hold
// the same inventory and their figures compare.

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/store/seedgen"
)

// SeedResult is what SeedPasskeys stored (store/seedgen makes the rows).
type SeedResult = seedgen.Result

// SeedPasskeys stores n active passkeys with everything a real enrollment
// leaves behind, for benchmarks at scale (100,000 or 1,000,000 passkeys):
// it is not part of the product and writes no audit event. Rows, made
// deterministically from their index (the same as store/sqlite's):
//   - users (UPN, Entra object ID, display name, the default policy), one
//     per two or three passkeys: of every three devices, one user has two
//     (a phone and a laptop) and the next user has one;
//   - per device: the used invitation it registered with, the device
//     (active, a unique token hash), the completed enrollment, and its one
//     device-bound passkey (active, Graph method ID, a unique 32-byte
//     credential ID, one of four provider AAGUIDs, notAttested);
//   - created over the two years before now, in ID order (IDs are UUIDv7
//     as the store's own, so lists ordered by ID are in creation order).
//
// Not seeded: audit events (the chain stays valid but holds none of this
// history, where real enrollments leave five or six events per passkey:
// user, invitation, device, options, intent, outcome), job queue rows,
// admin users, sessions, API tokens, the connector. The store must hold
// no users yet (EConflict otherwise): use a fresh database.
//
// Everything happens in one transaction, so a failure leaves nothing
// behind: the seeded tables' foreign keys and secondary indexes are
// dropped, the rows are loaded with COPY, batch passkeys (with their
// users, devices…) per round (0: 50,000), and the indexes and foreign keys
// are made again from their stored definitions — which checks every
// unique key and reference in one pass, far faster than row by row. Then
// the tables are vacuumed and analyzed, as autovacuum would have done in
// a database that grew to this size over time (plans and index-only scans
// are those of a steady state). progress, if not nil, is told the
// passkeys loaded after each round.
func SeedPasskeys(ctx context.Context, db *DB, n, batch int, progress func(done int)) (*SeedResult, error) {
	const op = "postgres.SeedPasskeys"
	if n < 0 || batch < 0 {
		return nil, opError(op, passkeyd.Errorf(passkeyd.EInvalid, "cannot seed %d passkeys in batches of %d", n, batch))
	}
	if batch == 0 {
		batch = 50000
	}
	g := seedgen.New(n, db.now())
	err := pgx.BeginTxFunc(ctx, db.pool, txOptions, func(tx pgx.Tx) error {
		var used bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&used); err != nil {
			return dbError(err, "could not read the users")
		}
		if used {
			return passkeyd.Errorf(passkeyd.EConflict, "seeding needs a store without users")
		}
		// Index builds sort in memory up to this.
		if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
			return dbError(err, "could not set maintenance_work_mem")
		}
		rebuild, err := dropSeedConstraints(ctx, tx)
		if err != nil {
			return err
		}
		for from := 0; from < n; from += batch {
			if err := seedBatch(ctx, tx, g, from, min(n, from+batch)); err != nil {
				return err
			}
			if progress != nil {
				progress(min(n, from+batch))
			}
		}
		for _, stmt := range rebuild {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return mapError(err, "could not rebuild an index or foreign key of the seeded tables", "", "a seeded row refers to a missing row")
			}
		}
		return nil
	})
	if err != nil {
		return nil, opError(op, err)
	}
	if _, err := db.pool.Exec(ctx, `VACUUM (ANALYZE) `+strings.Join(seedTables, ", ")); err != nil {
		return nil, opError(op, dbError(err, "could not vacuum the seeded tables"))
	}
	return g.Result(), nil
}

// seedTables are the tables SeedPasskeys writes, in foreign-key order.
var seedTables = []string{"users", "invitations", "devices", "enrollments", "passkeys"}

// dropSeedConstraints drops the foreign keys and the secondary indexes
// (those backing no primary key or constraint) of the seeded tables in
// the current schema, and returns the statements that make them again:
// indexes first, then foreign keys.
func dropSeedConstraints(ctx context.Context, tx pgx.Tx) ([]string, error) {
	type def struct{ table, name, def string }
	read := func(q string) ([]def, error) {
		rows, err := tx.Query(ctx, q, seedTables)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (def, error) {
			var d def
			err := r.Scan(&d.table, &d.name, &d.def)
			return d, err
		})
	}
	fks, err := read(`SELECT t.oid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
		WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY($1)
		ORDER BY t.relname, c.conname`)
	if err != nil {
		return nil, dbError(err, "could not read the foreign keys")
	}
	idx, err := read(`SELECT t.oid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
		WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY($1)
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
		ORDER BY t.relname, 2`)
	if err != nil {
		return nil, dbError(err, "could not read the indexes")
	}
	var indexes, keys []string
	for _, d := range fks {
		// Table names are regclass as text: quoted as needed.
		name := pgx.Identifier{d.name}.Sanitize()
		if _, err := tx.Exec(ctx, `ALTER TABLE `+d.table+` DROP CONSTRAINT `+name); err != nil {
			return nil, dbError(err, "could not drop foreign key "+d.name)
		}
		keys = append(keys, `ALTER TABLE `+d.table+` ADD CONSTRAINT `+name+` `+d.def)
	}
	for _, d := range idx {
		if _, err := tx.Exec(ctx, `DROP INDEX `+d.name); err != nil {
			return nil, dbError(err, "could not drop index "+d.name)
		}
		indexes = append(indexes, d.def)
	}
	return append(indexes, keys...), nil
}

// seedBatch copies passkeys [from, to) and what they need, table by
// table in foreign-key order.
func seedBatch(ctx context.Context, tx pgx.Tx, g *seedgen.Gen, from, to int) error {
	n := to - from
	users := make([][]any, 0, n*2/3+1)
	invs, devs, enrs, pks := make([][]any, 0, n), make([][]any, 0, n), make([][]any, 0, n), make([][]any, 0, n)
	for k := from; k < to; k++ {
		r := g.Row(k)
		if r.NewUser {
			users = append(users, []any{r.UserID, r.UPN, r.ObjectID, r.UserName, ts(r.UserAt), ts(r.UserAt)})
		}
		invs = append(invs, []any{r.InvID, r.UserID, r.CodeHash, ts(r.InvAt.Add(seedgen.InvitationTTL)), ts(r.DeviceAt), ts(r.InvAt)})
		devs = append(devs, []any{r.DeviceID, r.UserID, r.DeviceName, r.Platform, r.Model, r.TokenHash, "active", ts(r.DeviceAt), ts(r.DeviceAt)})
		enrs = append(enrs, []any{r.EnrollmentID, r.UserID, r.DeviceID, "completed", ts(r.EnrollAt.Add(seedgen.ChallengeTTL)), r.OptionsHash, r.ChallengeDigest,
			seedgen.RPID, r.PasskeyID, ts(r.EnrollAt), ts(r.ActiveAt)})
		pks = append(pks, []any{r.PasskeyID, r.UserID, r.DeviceID, r.EnrollmentID, r.MethodID, r.CredentialID, r.AAGUID, r.PasskeyName,
			"notAttested", "deviceBound", "active", ts(r.RegisterAt), ts(r.ActiveAt)})
	}
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"users", []string{"id", "upn", "entra_object_id", "display_name", "created_at", "updated_at"}, users},
		{"invitations", []string{"id", "user_id", "code_hash", "expires_at", "used_at", "created_at"}, invs},
		{"devices", []string{"id", "user_id", "name", "platform", "model", "token_hash", "state", "created_at", "updated_at"}, devs},
		{"enrollments", []string{"id", "user_id", "device_id", "state", "challenge_expires_at", "options_hash", "challenge_digest", "rp_id",
			"passkey_id", "created_at", "updated_at"}, enrs},
		{"passkeys", []string{"id", "user_id", "device_id", "enrollment_id", "graph_method_id", "credential_id", "aaguid", "display_name",
			"attestation_level", "passkey_type", "state", "created_at", "updated_at"}, pks},
	} {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return mapError(err, "could not seed "+c.table, "", "a seeded "+c.table+" row refers to a missing row")
		}
	}
	return nil
}
