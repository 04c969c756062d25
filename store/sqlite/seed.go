package sqlite

// Bulk seeding, for benchmarks only (passkeyd bench --scale). Keep the rows
// it makes in step with store/postgres/seed.go: both stores must hold the
// same inventory for their figures to compare.

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	passkeyd "github.com/passkeyd/passkeyd"
)

// SeedResult is what SeedPasskeys stored, with sample keys for the queries
// of a benchmark.
type SeedResult struct {
	Users, Devices, Passkeys int
	// MidPasskeyID is the passkey half-way down the ID order: a cursor
	// deep in the inventory.
	MidPasskeyID string
	// UserID has two devices, DeviceID is the first of them, PasskeyID and
	// CredentialID are that device's passkey (all half-way down too).
	UserID, DeviceID, PasskeyID, CredentialID string
	// CommonAAGUID is carried by about 60 % of the passkeys, RareAAGUID
	// by 0.1 % (one in a thousand).
	CommonAAGUID, RareAAGUID string
}

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
	g := newSeedGen(n, db.now())
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
	return g.result(), nil
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
func (db *DB) seedBatch(ctx context.Context, g *seedGen, from, to int) (err error) {
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
	enrs := bulkInsert{table: "enrollments", cols: "id, user_id, device_id, state, challenge_expires_at, options_hash, challenge, rp_id, passkey_id, created_at, updated_at",
		tuple: "(?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?)", per: 10}
	pks := bulkInsert{table: "passkeys", cols: "id, user_id, device_id, enrollment_id, graph_method_id, credential_id, aaguid, display_name, attestation_level, passkey_type, state, created_at, updated_at",
		tuple: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)", per: 12}
	for k := from; k < to; k++ {
		r := g.row(k)
		if r.newUser {
			users.add(r.userID, r.upn, r.objectID, r.userName, fmtTime(r.userAt), fmtTime(r.userAt))
		}
		invs.add(r.invID, r.userID, r.codeHash, fmtTime(r.invAt.Add(invitationTTL)), fmtTime(r.deviceAt), fmtTime(r.invAt))
		devs.add(r.deviceID, r.userID, r.deviceName, r.platform, r.model, r.tokenHash, fmtTime(r.deviceAt), fmtTime(r.deviceAt))
		enrs.add(r.enrollmentID, r.userID, r.deviceID, fmtTime(r.enrollAt.Add(challengeTTL)), r.optionsHash, r.challenge,
			seedRPID, r.passkeyID, fmtTime(r.enrollAt), fmtTime(r.activeAt))
		pks.add(r.passkeyID, r.userID, r.deviceID, r.enrollmentID, r.methodID, r.credentialID, r.aaguid, r.passkeyName,
			"notAttested", "deviceBound", fmtTime(r.registerAt), fmtTime(r.activeAt))
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

// The seeded inventory. Keep in step with store/postgres/seed.go.

const (
	seedSpan      = 2 * 365 * 24 * time.Hour // passkeys were enrolled over two years
	invitationTTL = 24 * time.Hour
	challengeTTL  = 5 * time.Minute
	seedRPID      = "login.microsoft.com"
)

// seedAAGUIDs are the provider apps of the seeded fleet, with their share
// of passkeys in thousandths: passkeyd's own provider (authenticator.
// DefaultAAGUID), two more apps and a rare model (0.1 %).
var seedAAGUIDs = []struct {
	aaguid string
	upTo   uint64 // cumulative share, in thousandths
}{
	{"2e654094-6d25-4fb2-8448-150efba93f9f", 600},
	{"6a1f3e58-8f0c-4b8e-9b5e-0c2d7f4a9e11", 850},
	{"b93fd961-f2e6-462f-b122-82002247de78", 999},
	{"d548826e-79b4-db40-a3d8-11116f7e8349", 1000},
}

// seedDevices are the device kinds, in turn.
var seedDevices = []struct{ name, platform, model string }{
	{"iPhone", "ios", "iPhone 15"},
	{"Laptop", "windows", "Surface Laptop 5"},
	{"Pixel", "android", "Pixel 8"},
	{"MacBook", "macos", "MacBook Air M2"},
}

// seedRow is one passkey and what it needs.
type seedRow struct {
	newUser                                                 bool // the passkey's user is created with it
	userID, upn, objectID, userName                         string
	invID, deviceID, enrollmentID, passkeyID                string
	deviceName, platform, model                             string
	methodID, credentialID, aaguid, passkeyName, challenge  string
	codeHash, tokenHash, optionsHash                        []byte
	userAt, invAt, deviceAt, enrollAt, registerAt, activeAt time.Time
}

// seedGen makes the rows of n passkeys enrolled up to now.
type seedGen struct {
	n     int
	start time.Time
	step  time.Duration
}

func newSeedGen(n int, now time.Time) *seedGen {
	g := &seedGen{n: n, start: now.UTC().Truncate(time.Microsecond).Add(-seedSpan), step: seedSpan}
	if n > 0 {
		g.step = seedSpan / time.Duration(n)
	}
	return g
}

// Row kinds, in IDs and hashes.
const (
	seedUser byte = iota + 1
	seedInvitation
	seedDevice
	seedEnrollment
	seedPasskey
	seedCredential
	seedToken
	seedCode
	seedOptions
	seedChallenge
	seedObjectID
)

// userOf is passkey k's user and whether k is that user's first device:
// of every three devices, user 2g gets two and user 2g+1 one.
func userOf(k int) (user int, first bool) {
	g, r := k/3, k%3
	if r == 2 {
		return 2*g + 1, true
	}
	return 2 * g, r == 0
}

func (g *seedGen) row(k int) seedRow {
	t := g.start.Add(time.Duration(k) * g.step)
	u, first := userOf(k)
	r := seedRow{newUser: first, activeAt: t}
	r.registerAt = t.Add(-2 * time.Second)
	r.enrollAt = t.Add(-10 * time.Second)
	r.deviceAt = t.Add(-time.Minute)
	r.invAt = t.Add(-5 * time.Minute)
	// A user is created just before their first device's invitation; the
	// second device reuses the user (its time is the first device's).
	r.userAt = t.Add(-6 * time.Minute)
	if !first {
		r.userAt = g.start.Add(time.Duration(k-1) * g.step).Add(-6 * time.Minute)
	}
	r.userID = seedID(r.userAt, seedUser, u)
	r.upn = fmt.Sprintf("user%07d@contoso.com", u)
	r.objectID = seedGUID(seedObjectID, u)
	r.userName = fmt.Sprintf("User %d", u)
	r.invID = seedID(r.invAt, seedInvitation, k)
	r.deviceID = seedID(r.deviceAt, seedDevice, k)
	r.enrollmentID = seedID(r.enrollAt, seedEnrollment, k)
	r.passkeyID = seedID(r.registerAt, seedPasskey, k)
	d := seedDevices[k%len(seedDevices)]
	r.deviceName, r.platform, r.model = fmt.Sprintf("%s %d", d.name, u), d.platform, d.model
	cred := seedHash(seedCredential, k)
	r.credentialID = base64.RawURLEncoding.EncodeToString(cred[:])
	// Entra's method ID is the credential ID in base64url with the
	// padding replaced by its count (as the emulator makes them).
	s := base64.URLEncoding.EncodeToString(cred[:])
	trimmed := strings.TrimRight(s, "=")
	r.methodID = trimmed + fmt.Sprint(len(s)-len(trimmed))
	r.aaguid = seedAAGUID(k)
	r.passkeyName = "passkeyd " + r.deviceName // the default display name template
	tok, code, opts, ch := seedHash(seedToken, k), seedHash(seedCode, k), seedHash(seedOptions, k), seedHash(seedChallenge, k)
	r.tokenHash, r.codeHash, r.optionsHash = tok[:], code[:], opts[:]
	r.challenge = base64.RawURLEncoding.EncodeToString(ch[:])
	return r
}

// seedAAGUID picks passkey k's AAGUID by its share; every thousandth
// passkey is the rare model, so its count is exactly n/1000.
func seedAAGUID(k int) string {
	if k%1000 == 999 {
		return seedAAGUIDs[len(seedAAGUIDs)-1].aaguid
	}
	h := seedHash(seedPasskey, k)
	x := binary.BigEndian.Uint64(h[:8]) % 999
	for _, a := range seedAAGUIDs {
		if x < a.upTo {
			return a.aaguid
		}
	}
	return seedAAGUIDs[0].aaguid
}

func (g *seedGen) result() *SeedResult {
	res := &SeedResult{Passkeys: g.n, Devices: g.n,
		CommonAAGUID: seedAAGUIDs[0].aaguid, RareAAGUID: seedAAGUIDs[len(seedAAGUIDs)-1].aaguid}
	if g.n == 0 {
		return res
	}
	last, _ := userOf(g.n - 1)
	res.Users = last + 1
	res.MidPasskeyID = g.row(g.n / 2).passkeyID
	// The first device of a two-device user, half-way down.
	k := g.n / 2 / 3 * 3
	if k+1 >= g.n {
		k = 0
	}
	r := g.row(k)
	res.UserID, res.DeviceID, res.PasskeyID, res.CredentialID = r.userID, r.deviceID, r.passkeyID, r.credentialID
	return res
}

// seedHash is 32 deterministic, random-looking bytes for row kind tag
// and index k. The first eight are a bijection of (tag, k), so values
// never repeat; cheaper than SHA-256, which matters at a million rows.
func seedHash(tag byte, k int) [32]byte {
	var b [32]byte
	x := mix64(uint64(k)<<8 | uint64(tag))
	for i := range 4 {
		binary.BigEndian.PutUint64(b[8*i:], x)
		x = mix64(x + 0x9e3779b97f4a7c15)
	}
	return b
}

// mix64 is SplitMix64's finalizer, a bijection on 64-bit values.
func mix64(x uint64) uint64 {
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// seedID is a UUIDv7 for row kind tag and index k, made at t: the time
// orders IDs as the store's own UUIDv7s are ordered, and (tag, k) in the
// random bits keeps every ID unique.
func seedID(t time.Time, tag byte, k int) string {
	var b uuid.UUID
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	h := seedHash(tag, k)
	b[6] = 0x70 | tag&0x0f // version 7; rand_a begins with the kind
	b[7] = h[0]
	b[8] = 0x80 | h[1]&0x3f // RFC 9562 variant
	b[9], b[10] = h[2], h[3]
	binary.BigEndian.PutUint32(b[12:], uint32(k))
	b[11] = byte(uint64(k) >> 32)
	return b.String()
}

// seedGUID is a random-looking (version 4) GUID for kind tag and index k.
func seedGUID(tag byte, k int) string {
	h := seedHash(tag, k)
	var b uuid.UUID
	copy(b[:], h[:16])
	b[6] = 0x40 | b[6]&0x0f
	b[8] = 0x80 | b[8]&0x3f
	return b.String()
}
