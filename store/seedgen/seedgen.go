// Package seedgen makes the rows of a benchmark inventory — users,
// invitations, devices, enrollments and passkeys — deterministically from
// each passkey's index, for the stores' bulk seeders (store/sqlite and
// store/postgres SeedPasskeys, used by passkeyd bench --scale): both stores
// hold the same inventory, so their figures compare. Not part of the
// product.
package seedgen

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Result is what a seeding stored, with sample keys for the queries of
// a benchmark.
type Result struct {
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

const (
	seedSpan = 2 * 365 * 24 * time.Hour // passkeys were enrolled over two years
	// InvitationTTL, ChallengeTTL and RPID are what the seeded
	// invitations and enrollments were issued with.
	InvitationTTL = 24 * time.Hour
	ChallengeTTL  = 5 * time.Minute
	RPID          = "login.microsoft.com"
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

// Row is one passkey and what it needs.
type Row struct {
	NewUser                                                      bool // the passkey's user is created with it
	UserID, UPN, ObjectID, UserName                              string
	InvID, DeviceID, EnrollmentID, PasskeyID                     string
	DeviceName, Platform, Model                                  string
	MethodID, CredentialID, AAGUID, PasskeyName, ChallengeDigest string
	CodeHash, TokenHash, OptionsHash                             []byte
	UserAt, InvAt, DeviceAt, EnrollAt, RegisterAt, ActiveAt      time.Time
}

// Gen makes the rows of n passkeys enrolled up to now.
type Gen struct {
	n     int
	start time.Time
	step  time.Duration
}

// New is the generator of n passkeys enrolled over the two years before now.
func New(n int, now time.Time) *Gen {
	g := &Gen{n: n, start: now.UTC().Truncate(time.Microsecond).Add(-seedSpan), step: seedSpan}
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

// Row is passkey k's row (0 ≤ k < n), made from k alone.
func (g *Gen) Row(k int) Row {
	t := g.start.Add(time.Duration(k) * g.step)
	u, first := userOf(k)
	r := Row{NewUser: first, ActiveAt: t}
	r.RegisterAt = t.Add(-2 * time.Second)
	r.EnrollAt = t.Add(-10 * time.Second)
	r.DeviceAt = t.Add(-time.Minute)
	r.InvAt = t.Add(-5 * time.Minute)
	// A user is created just before their first device's invitation; the
	// second device reuses the user (its time is the first device's).
	r.UserAt = t.Add(-6 * time.Minute)
	if !first {
		r.UserAt = g.start.Add(time.Duration(k-1) * g.step).Add(-6 * time.Minute)
	}
	r.UserID = seedID(r.UserAt, seedUser, u)
	r.UPN = fmt.Sprintf("user%07d@contoso.com", u)
	r.ObjectID = seedGUID(seedObjectID, u)
	r.UserName = fmt.Sprintf("User %d", u)
	r.InvID = seedID(r.InvAt, seedInvitation, k)
	r.DeviceID = seedID(r.DeviceAt, seedDevice, k)
	r.EnrollmentID = seedID(r.EnrollAt, seedEnrollment, k)
	r.PasskeyID = seedID(r.RegisterAt, seedPasskey, k)
	d := seedDevices[k%len(seedDevices)]
	r.DeviceName, r.Platform, r.Model = fmt.Sprintf("%s %d", d.name, u), d.platform, d.model
	cred := seedHash(seedCredential, k)
	r.CredentialID = base64.RawURLEncoding.EncodeToString(cred[:])
	// Entra's method ID is the credential ID in base64url with the
	// padding replaced by its count (as the emulator makes them).
	s := base64.URLEncoding.EncodeToString(cred[:])
	trimmed := strings.TrimRight(s, "=")
	r.MethodID = trimmed + fmt.Sprint(len(s)-len(trimmed))
	r.AAGUID = seedAAGUID(k)
	r.PasskeyName = "passkeyd " + r.DeviceName // the default display name template
	tok, code, opts, ch := seedHash(seedToken, k), seedHash(seedCode, k), seedHash(seedOptions, k), seedHash(seedChallenge, k)
	r.TokenHash, r.CodeHash, r.OptionsHash = tok[:], code[:], opts[:]
	r.ChallengeDigest = base64.RawURLEncoding.EncodeToString(ch[:])
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

// Result is what the n rows hold, with sample keys for a benchmark's queries.
func (g *Gen) Result() *Result {
	res := &Result{Passkeys: g.n, Devices: g.n,
		CommonAAGUID: seedAAGUIDs[0].aaguid, RareAAGUID: seedAAGUIDs[len(seedAAGUIDs)-1].aaguid}
	if g.n == 0 {
		return res
	}
	last, _ := userOf(g.n - 1)
	res.Users = last + 1
	res.MidPasskeyID = g.Row(g.n / 2).PasskeyID
	// The first device of a two-device user, half-way down.
	k := g.n / 2 / 3 * 3
	if k+1 >= g.n {
		k = 0
	}
	r := g.Row(k)
	res.UserID, res.DeviceID, res.PasskeyID, res.CredentialID = r.UserID, r.DeviceID, r.PasskeyID, r.CredentialID
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
