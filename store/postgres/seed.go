package postgres

// Bulk seeding, for benchmarks only (passkeyd bench --scale). Keep the rows
// it makes in step with store/sqlite/seed.go: both stores must hold the
// same inventory for their figures to compare.

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
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
	g := newSeedGen(n, db.now())
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
	return g.result(), nil
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
func seedBatch(ctx context.Context, tx pgx.Tx, g *seedGen, from, to int) error {
	n := to - from
	users := make([][]any, 0, n*2/3+1)
	invs, devs, enrs, pks := make([][]any, 0, n), make([][]any, 0, n), make([][]any, 0, n), make([][]any, 0, n)
	for k := from; k < to; k++ {
		r := g.row(k)
		if r.newUser {
			users = append(users, []any{r.userID, r.upn, r.objectID, r.userName, ts(r.userAt), ts(r.userAt)})
		}
		invs = append(invs, []any{r.invID, r.userID, r.codeHash, ts(r.invAt.Add(invitationTTL)), ts(r.deviceAt), ts(r.invAt)})
		devs = append(devs, []any{r.deviceID, r.userID, r.deviceName, r.platform, r.model, r.tokenHash, "active", ts(r.deviceAt), ts(r.deviceAt)})
		enrs = append(enrs, []any{r.enrollmentID, r.userID, r.deviceID, "completed", ts(r.enrollAt.Add(challengeTTL)), r.optionsHash, r.challenge,
			seedRPID, r.passkeyID, ts(r.enrollAt), ts(r.activeAt)})
		pks = append(pks, []any{r.passkeyID, r.userID, r.deviceID, r.enrollmentID, r.methodID, r.credentialID, r.aaguid, r.passkeyName,
			"notAttested", "deviceBound", "active", ts(r.registerAt), ts(r.activeAt)})
	}
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"users", []string{"id", "upn", "entra_object_id", "display_name", "created_at", "updated_at"}, users},
		{"invitations", []string{"id", "user_id", "code_hash", "expires_at", "used_at", "created_at"}, invs},
		{"devices", []string{"id", "user_id", "name", "platform", "model", "token_hash", "state", "created_at", "updated_at"}, devs},
		{"enrollments", []string{"id", "user_id", "device_id", "state", "challenge_expires_at", "options_hash", "challenge", "rp_id",
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
