package sqlite

// Bulk seeding, for benchmarks only (passkeyd bench --scale). The rows come
// from store/seedgen, shared with the other store's seeder, so both hold
// the same inventory and their figures compare.

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/store/seedgen"
)

// SeedResult is what SeedPasskeys stored (store/seedgen makes the rows).
type SeedResult = seedgen.Result

// SeedPasskeys stores n active passkeys with everything a real enrollment
// leaves behind, for benchmarks at scale (100,000 or 1,000,000 passkeys):
// it is not part of the product and writes no audit event. Rows, made
// deterministically from their index:
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
// admin users, sessions, API tokens, the connector. Foreign keys and
// CHECK constraints are in force while seeding; unique indexes are
// checked when they are rebuilt at the end (see below). The store must
// hold no users yet (EConflict otherwise): use a fresh database.
//
// Rows go in as multi-row INSERTs, batch passkeys (with their users,
// devices…) per transaction (0: 20,000), with a larger page cache for the
// duration. The seeded tables' secondary indexes are dropped first and
// rebuilt from their stored definitions at the end, also after an error;
// a process killed mid-seed leaves them dropped (the database is only
// fit for deleting then). progress, if not nil, is told the passkeys
// stored after each transaction.
func SeedPasskeys(ctx context.Context, db *DB, n, batch int, progress func(done int)) (*SeedResult, error) {
	const op = "sqlite.SeedPasskeys"
	if n < 0 || batch < 0 {
		return nil, opError(op, passkeyd.Errorf(passkeyd.EInvalid, "cannot seed %d passkeys in batches of %d", n, batch))
	}
	if batch == 0 {
		batch = 20000
	}
	// Random index keys (token and code hashes, credential IDs) touch
	// pages all over their B-trees: a page cache of 256 MiB instead of
	// 2 MiB keeps them in memory. Each multi-row INSERT keeps a statement
	// journal (to undo itself on a constraint error): in memory, not in
	// a temporary file. Both restored afterwards: the connection is the
	// store's writer.
	for _, p := range []struct{ name, value string }{{"cache_size", "-262144"}, {"temp_store", "MEMORY"}} {
		var was string
		if err := db.db.QueryRowContext(ctx, `PRAGMA `+p.name).Scan(&was); err != nil {
			return nil, opError(op, dbError(err, "could not read PRAGMA "+p.name))
		}
		if _, err := db.db.ExecContext(ctx, `PRAGMA `+p.name+` = `+p.value); err != nil {
			return nil, opError(op, dbError(err, "could not set PRAGMA "+p.name))
		}
		defer db.db.ExecContext(context.WithoutCancel(ctx), `PRAGMA `+p.name+` = `+was) //nolint:errcheck // best effort
	}

	var used bool
	if err := db.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&used); err != nil {
		return nil, opError(op, dbError(err, "could not read the users"))
	}
	if used {
		return nil, opError(op, passkeyd.Errorf(passkeyd.EConflict, "seeding needs a store without users"))
	}
	// Secondary indexes are dropped for the load and built again at the
	// end, from their stored definitions: inserting a million random keys
	// (hashes, credential IDs) into a B-tree is several times slower than
	// sorting them once. Their unique constraints are checked when they
	// are built. Primary keys stay: seeded IDs arrive in ascending order.
	indexes, err := db.dropSeedIndexes(ctx)
	if err != nil {
		return nil, opError(op, err)
	}
	g := seedgen.New(n, db.now())
	for from := 0; from < n && err == nil; from += batch {
		if err = db.seedBatch(ctx, g, from, min(n, from+batch)); err == nil && progress != nil {
			progress(min(n, from+batch))
		}
	}
	// Rebuilt even after an error, so the schema is whole again.
	if ierr := db.createIndexes(context.WithoutCancel(ctx), indexes); err == nil {
		err = ierr
	}
	if err != nil {
		return nil, opError(op, err)
	}
	return g.Result(), nil
}

// seedTables are the tables SeedPasskeys writes, in foreign-key order.
var seedTables = []string{"users", "invitations", "devices", "enrollments", "passkeys"}

// dropSeedIndexes drops the secondary indexes of the seeded tables and
// returns the statements that make them again.
func (db *DB) dropSeedIndexes(ctx context.Context) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema
		WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (`+strings.Repeat("?, ", len(seedTables)-1)+`?)
		ORDER BY name`, anySlice(seedTables)...)
	if err != nil {
		return nil, dbError(err, "could not read the indexes")
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, dbError(err, "could not read the indexes")
		}
		names, defs = append(names, name), append(defs, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "could not read the indexes")
	}
	for i, name := range names {
		// name comes from sqlite_schema, quoted as an identifier.
		if _, err := db.db.ExecContext(ctx, `DROP INDEX "`+strings.ReplaceAll(name, `"`, `""`)+`"`); err != nil {
			return nil, errors.Join(dbError(err, "could not drop index "+name), db.createIndexes(ctx, defs[:i]))
		}
	}
	return defs, nil
}

// createIndexes runs the CREATE INDEX statements defs.
func (db *DB) createIndexes(ctx context.Context, defs []string) error {
	for _, def := range defs {
		if _, err := db.db.ExecContext(ctx, def); err != nil {
			return mapError(err, "could not build an index", "", "")
		}
	}
	return nil
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// seedBatch inserts passkeys [from, to) and what they need in one
// transaction, table by table in foreign-key order.
func (db *DB) seedBatch(ctx context.Context, g *seedgen.Gen, from, to int) (err error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return dbError(err, "could not start a transaction")
	}
	defer func() {
		if err != nil {
			if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
				db.logger.ErrorContext(ctx, "rollback failed", "op", "sqlite.SeedPasskeys", "err", rerr)
			}
		}
	}()
	users := bulkInsert{table: "users", cols: "id, upn, entra_object_id, display_name, created_at, updated_at",
		tuple: "(?, ?, ?, ?, ?, ?)", per: 6}
	invs := bulkInsert{table: "invitations", cols: "id, user_id, code_hash, expires_at, used_at, created_at",
		tuple: "(?, ?, ?, ?, ?, ?)", per: 6}
	devs := bulkInsert{table: "devices", cols: "id, user_id, name, platform, model, token_hash, state, created_at, updated_at",
		tuple: "(?, ?, ?, ?, ?, ?, 'active', ?, ?)", per: 8}
	enrs := bulkInsert{table: "enrollments", cols: "id, user_id, device_id, state, challenge_expires_at, options_hash, challenge_digest, rp_id, passkey_id, created_at, updated_at",
		tuple: "(?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?)", per: 10}
	pks := bulkInsert{table: "passkeys", cols: "id, user_id, device_id, enrollment_id, graph_method_id, credential_id, aaguid, display_name, attestation_level, passkey_type, state, created_at, updated_at",
		tuple: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)", per: 12}
	for k := from; k < to; k++ {
		r := g.Row(k)
		if r.NewUser {
			users.add(r.UserID, r.UPN, r.ObjectID, r.UserName, fmtTime(r.UserAt), fmtTime(r.UserAt))
		}
		invs.add(r.InvID, r.UserID, r.CodeHash, fmtTime(r.InvAt.Add(seedgen.InvitationTTL)), fmtTime(r.DeviceAt), fmtTime(r.InvAt))
		devs.add(r.DeviceID, r.UserID, r.DeviceName, r.Platform, r.Model, r.TokenHash, fmtTime(r.DeviceAt), fmtTime(r.DeviceAt))
		enrs.add(r.EnrollmentID, r.UserID, r.DeviceID, fmtTime(r.EnrollAt.Add(seedgen.ChallengeTTL)), r.OptionsHash, r.ChallengeDigest,
			seedgen.RPID, r.PasskeyID, fmtTime(r.EnrollAt), fmtTime(r.ActiveAt))
		pks.add(r.PasskeyID, r.UserID, r.DeviceID, r.EnrollmentID, r.MethodID, r.CredentialID, r.AAGUID, r.PasskeyName,
			"notAttested", "deviceBound", fmtTime(r.RegisterAt), fmtTime(r.ActiveAt))
	}
	for _, b := range []*bulkInsert{&users, &invs, &devs, &enrs, &pks} {
		if err := b.exec(ctx, tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return dbError(err, "could not commit")
	}
	return nil
}

// bulkInsert collects the rows of one table and inserts them with
// multi-row INSERTs of seedRowsPerInsert rows.
type bulkInsert struct {
	table, cols, tuple string
	per                int // placeholders per tuple
	args               []any
}

// seedRowsPerInsert keeps a statement's placeholders (12 per passkey) far
// below SQLite's limit of 32,766.
const seedRowsPerInsert = 500

func (b *bulkInsert) add(vals ...any) { b.args = append(b.args, vals...) }

func (b *bulkInsert) sql(rows int) string {
	return `INSERT OR FAIL INTO ` + b.table + ` (` + b.cols + `) VALUES ` + strings.Repeat(b.tuple+", ", rows-1) + b.tuple
}

// exec inserts the rows collected. Statements are prepared explicitly
// (and closed), not left in the connection's statement cache, which is
// meant for the store's fixed set of queries.
func (b *bulkInsert) exec(ctx context.Context, tx *sql.Tx) error {
	chunk := seedRowsPerInsert * b.per
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for len(b.args) > 0 {
		n := min(len(b.args), chunk)
		stmt := full
		if n < chunk || full == nil {
			s, err := tx.PrepareContext(ctx, b.sql(n/b.per))
			if err != nil {
				return dbError(err, "could not prepare the "+b.table+" insert")
			}
			if n == chunk {
				full = s
			} else {
				defer s.Close()
			}
			stmt = s
		}
		if _, err := stmt.ExecContext(ctx, b.args[:n]...); err != nil {
			return mapError(err, "could not seed "+b.table, "", "a seeded "+b.table+" row refers to a missing row")
		}
		b.args = b.args[n:]
	}
	return nil
}
