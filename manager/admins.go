package manager

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	passkeyd "github.com/passkeyd/passkeyd"
)

var _ passkeyd.AdminAuthService = (*Manager)(nil)

// Admin password and session limits.
const (
	minUsernameLen = 3
	maxUsernameLen = 64
	minPasswordLen = 12
	// maxPasswordLen bounds the work an unauthenticated caller can ask of
	// the hash (argon2 reads the whole password).
	maxPasswordLen = 1024
	// sessionTouchEvery limits idle-clock refreshes to one write a minute
	// per session, whatever the request rate.
	sessionTouchEvery = time.Minute
	// failureWindow is the period MaxFailedLogins counts over.
	failureWindow = time.Hour
	// sessionTokenPrefix makes leaked session tokens recognisable.
	sessionTokenPrefix = "pkd_ses_"
	errBadLogin        = "invalid username or password"
	errBadSession      = "invalid or expired session"
)

// PasswordHashing are the argon2id parameters of new admin password
// hashes. Verification reads the parameters stored in each hash, so they
// can change without invalidating existing passwords.
type PasswordHashing struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultPasswordHashing returns RFC 9106's second recommended option
// (section 4): 64 MiB, 3 passes, here with 2 lanes.
func DefaultPasswordHashing() PasswordHashing {
	return PasswordHashing{MemoryKiB: 64 * 1024, Time: 3, Threads: 2}
}

// passwordHashing is the parameters this manager hashes new passwords
// with (Config.PasswordHashing, or the defaults).
func (m *Manager) passwordHashing() PasswordHashing { return m.pwHashing }

// Argon2id output sizes (RFC 9106 recommends a 128-bit salt and 256-bit tag).
const (
	saltLen = 16
	keyLen  = 32
)

// DefaultMaxConcurrentHashes is how many argon2id computations run at
// once when Config.MaxConcurrentHashes is 0: one per CPU, at least 1 and
// at most 4. Each takes MemoryKiB (64 MiB by default) while it runs, and
// anyone can ask for one by trying to sign in; without a bound, a burst
// of sign-in attempts would allocate without limit.
func DefaultMaxConcurrentHashes() int {
	return min(max(runtime.NumCPU(), 1), 4)
}

// argon2id runs one argon2id computation when a slot is free, waiting for
// one as long as ctx allows. A caller that gives up while waiting gets
// EUnavailable and costs nothing more.
func (m *Manager) argon2id(ctx context.Context, password, salt []byte, p PasswordHashing, n uint32) ([]byte, error) {
	select {
	case m.hashSlots <- struct{}{}:
	default:
		m.hashWaiting.Add(1)
		select {
		case m.hashSlots <- struct{}{}:
			m.hashWaiting.Add(-1)
		case <-ctx.Done():
			m.hashWaiting.Add(-1)
			return nil, passkeyd.WrapError(passkeyd.EUnavailable, ctx.Err(), "too many sign-ins are being checked at once; try again")
		}
	}
	defer func() { <-m.hashSlots }()
	return m.argon2Key(password, salt, p.Time, p.MemoryKiB, p.Threads, n), nil
}

// hashPassword returns the PHC string of password:
// $argon2id$v=19$m=…,t=…,p=…$salt$hash (unpadded standard base64).
func (m *Manager) hashPassword(ctx context.Context, password string, p PasswordHashing) (string, error) {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	key, err := m.argon2id(ctx, []byte(password), salt, p, keyLen)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// parsePHC reads an argon2id PHC string, refusing parameters outside
// sane bounds so a corrupted row cannot make one login cost gigabytes.
func parsePHC(s string) (p PasswordHashing, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("not an argon2id v=%d PHC string", argon2.Version)
	}
	var m, t, par uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, perr := strconv.ParseUint(v, 10, 32)
		if perr != nil {
			return p, nil, nil, fmt.Errorf("argon2id parameter %q: %w", k, perr)
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			par = n
		default:
			return p, nil, nil, fmt.Errorf("unknown argon2id parameter %q", k)
		}
	}
	if m < 8 || m > 4*1024*1024 || t < 1 || t > 100 || par < 1 || par > 255 || m < 8*par {
		return p, nil, nil, fmt.Errorf("argon2id parameters m=%d,t=%d,p=%d out of bounds", m, t, par)
	}
	enc := base64.RawStdEncoding
	if salt, err = enc.DecodeString(parts[4]); err != nil || len(salt) < 8 || len(salt) > 64 {
		return p, nil, nil, fmt.Errorf("bad argon2id salt")
	}
	if key, err = enc.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, fmt.Errorf("bad argon2id hash")
	}
	return PasswordHashing{MemoryKiB: uint32(m), Time: uint32(t), Threads: uint8(par)}, salt, key, nil
}

// verifyPassword reports whether password matches the PHC string phc,
// comparing in constant time. A phc that cannot be read is an error
// (errUnreadableHash), distinct from a wait cut short by ctx.
func (m *Manager) verifyPassword(ctx context.Context, password, phc string) (bool, error) {
	p, salt, key, err := parsePHC(phc)
	if err != nil {
		return false, fmt.Errorf("%w: %w", errUnreadableHash, err)
	}
	got, err := m.argon2id(ctx, []byte(password), salt, p, uint32(len(key)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// errUnreadableHash marks a stored password hash that cannot be parsed.
var errUnreadableHash = errors.New("unreadable password hash")

// validUsername accepts 3 to 64 printable ASCII characters without spaces.
// ASCII keeps case-insensitive uniqueness identical in every store
// (SQLite's NOCASE folds ASCII only).
func validUsername(s string) bool {
	if len(s) < minUsernameLen || len(s) > maxUsernameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// CreateAdmin adds an admin whose password is hashed with argon2id.
func (m *Manager) CreateAdmin(ctx context.Context, username string, password passkeyd.Secret, role passkeyd.Role) (*passkeyd.AdminUser, error) {
	username = strings.TrimSpace(username)
	pw := password.Reveal()
	var fe passkeyd.FieldErrors
	if !validUsername(username) {
		fe.Add("username", "must be 3 to 64 printable ASCII characters without spaces")
	}
	if n := utf8.RuneCountInString(pw); n < minPasswordLen || len(pw) > maxPasswordLen || !utf8.ValidString(pw) {
		fe.Add("password", fmt.Sprintf("must be %d to %d characters", minPasswordLen, maxPasswordLen))
	}
	if !role.Valid() {
		fe.Add("role", `must be "admin", "operator" or "auditor"`)
	}
	if err := fe.Err("invalid admin"); err != nil {
		return nil, err
	}
	hash, err := m.hashPassword(ctx, pw, m.passwordHashing())
	if err != nil {
		return nil, err
	}
	now := m.now()
	u := &passkeyd.AdminUser{ID: newID(), Username: username, Role: role,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	ev := m.event(ctx, "admin.created", "admin", u.ID, map[string]any{"username": username, "role": role})
	if err := m.store.CreateAdminUser(ctx, u, ev); err != nil {
		return nil, err
	}
	return u, nil
}

// Login checks username and password and opens a session. Unknown
// usernames and wrong passwords cost the same hash and get the same
// answer; MaxFailedLogins failures of a username in the last hour refuse
// further attempts (ERateLimited) until the oldest falls out of the hour.
//
// Every counted failure is audited, and so is the failure that reaches the
// limit (admin.login_rate_limited); attempts refused because of the limit,
// and attempts no admin could match (malformed username or password), are
// only logged: they cost an attacker nothing, and an audit event each
// would let anyone grow the audit log without bound.
func (m *Manager) Login(ctx context.Context, username string, password passkeyd.Secret) (*passkeyd.AdminUser, *passkeyd.Session, passkeyd.Secret, error) {
	username = strings.TrimSpace(username)
	pw := password.Reveal()
	bad := passkeyd.Errorf(passkeyd.EUnauthorized, errBadLogin)
	if !validUsername(username) || len(pw) > maxPasswordLen {
		// No admin can have this name or password: nothing to count.
		m.log.InfoContext(ctx, "admin sign-in refused: malformed username or password")
		return nil, nil, "", bad
	}
	now := m.now()
	n, err := m.store.CountLoginFailures(ctx, username, now.Add(-failureWindow))
	if err != nil {
		return nil, nil, "", err
	}
	details := map[string]any{"username": username}
	if n >= passkeyd.MaxFailedLogins {
		// Audited once, when the limit was reached (below).
		m.log.WarnContext(ctx, "admin sign-in refused: too many failed sign-ins for this username", "failures", n)
		return nil, nil, "", passkeyd.Errorf(passkeyd.ERateLimited, "too many failed logins for this username; try again later")
	}
	u, err := m.store.AdminUserByUsername(ctx, username)
	if err != nil && passkeyd.ErrorCodeOf(err) != passkeyd.ENotFound {
		return nil, nil, "", err
	}
	ok := false
	if u == nil {
		// Same work as a real check, so timing does not tell names apart.
		if _, err := m.argon2id(ctx, []byte(pw), make([]byte, saltLen), m.passwordHashing(), keyLen); err != nil {
			return nil, nil, "", err
		}
	} else if ok, err = m.verifyPassword(ctx, pw, u.PasswordHash); err != nil {
		if !errors.Is(err, errUnreadableHash) {
			return nil, nil, "", err // no slot before ctx ended: nothing was checked
		}
		m.log.ErrorContext(ctx, "stored admin password hash is unreadable", "admin", u.ID, "err", err)
		ok = false
	}
	if !ok {
		targetID := ""
		if u != nil {
			targetID = u.ID
		}
		ev := failure(m.event(ctx, "admin.login_failed", "admin", targetID, details), errBadLogin)
		if err := m.store.RecordLoginFailure(context.WithoutCancel(ctx), username, now, ev); err != nil {
			return nil, nil, "", err
		}
		if n+1 == passkeyd.MaxFailedLogins {
			// This failure closes the username to further attempts.
			m.log.WarnContext(ctx, "admin sign-in: too many failed sign-ins, further attempts for this username are refused for up to an hour", "failures", n+1)
			m.audit(ctx, failure(m.event(ctx, "admin.login_rate_limited", "admin", targetID,
				map[string]any{"username": username, "failures": n + 1, "window_minutes": int(failureWindow / time.Minute)}),
				"too many failed logins"))
		}
		return nil, nil, "", bad
	}
	actx := passkeyd.WithActor(ctx, passkeyd.Actor{Kind: "admin", ID: u.ID, Role: u.Role})
	if u.DisabledAt != nil {
		m.audit(actx, failure(m.event(actx, "admin.login_failed", "admin", u.ID, details), "admin disabled"))
		return nil, nil, "", passkeyd.Errorf(passkeyd.EForbidden, "this admin account is disabled")
	}
	tok := newToken(sessionTokenPrefix)
	s := &passkeyd.Session{ID: newID(), AdminID: u.ID, TokenHash: hashToken(tok),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(passkeyd.SessionAbsoluteTimeout)}
	ev := m.event(actx, "admin.login", "admin", u.ID, map[string]any{"session_id": s.ID})
	if err := m.store.CreateSession(ctx, s, ev); err != nil {
		return nil, nil, "", err
	}
	return u, s, tok, nil
}

// SessionAdmin returns the admin of the live session of token, and
// refreshes its idle clock at most once a minute.
func (m *Manager) SessionAdmin(ctx context.Context, token passkeyd.Secret) (*passkeyd.AdminUser, *passkeyd.Session, error) {
	s, err := m.sessionOf(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	now := m.now()
	if !now.Before(s.ExpiresAt) || now.Sub(s.LastSeenAt) >= passkeyd.SessionIdleTimeout {
		// Delete it now rather than leave it for the next login.
		ev := m.event(ctx, "admin.session_expired", "admin", s.AdminID, map[string]any{"session_id": s.ID})
		if err := m.store.DeleteSession(ctx, s.ID, ev); err != nil && passkeyd.ErrorCodeOf(err) != passkeyd.ENotFound {
			m.log.WarnContext(ctx, "could not delete an expired session", "session", s.ID, "err", err)
		}
		return nil, nil, passkeyd.Errorf(passkeyd.EUnauthorized, errBadSession)
	}
	u, err := m.store.AdminUser(ctx, s.AdminID)
	if err != nil {
		return nil, nil, err
	}
	if u.DisabledAt != nil {
		return nil, nil, passkeyd.Errorf(passkeyd.EUnauthorized, errBadSession)
	}
	if now.Sub(s.LastSeenAt) >= sessionTouchEvery {
		err := m.store.TouchSession(ctx, s.ID, now)
		if passkeyd.ErrorCodeOf(err) == passkeyd.ENotFound {
			return nil, nil, passkeyd.Errorf(passkeyd.EUnauthorized, errBadSession) // logged out meanwhile
		}
		if err != nil {
			return nil, nil, err
		}
		s.LastSeenAt = now
	}
	return u, s, nil
}

// Logout ends the session of token. An unknown or already ended session
// is not an error: the caller wants it gone, and it is.
func (m *Manager) Logout(ctx context.Context, token passkeyd.Secret) error {
	s, err := m.sessionOf(ctx, token)
	if passkeyd.ErrorCodeOf(err) == passkeyd.EUnauthorized {
		return nil
	}
	if err != nil {
		return err
	}
	actx := passkeyd.WithActor(ctx, passkeyd.Actor{Kind: "admin", ID: s.AdminID})
	ev := m.event(actx, "admin.logout", "admin", s.AdminID, map[string]any{"session_id": s.ID})
	if err := m.store.DeleteSession(ctx, s.ID, ev); err != nil && passkeyd.ErrorCodeOf(err) != passkeyd.ENotFound {
		return err
	}
	return nil
}

// sessionOf finds the session of token, live or not; EUnauthorized for a
// malformed or unknown token.
func (m *Manager) sessionOf(ctx context.Context, token passkeyd.Secret) (*passkeyd.Session, error) {
	t := token.Reveal()
	if !strings.HasPrefix(t, sessionTokenPrefix) || len(t) > 128 {
		return nil, passkeyd.Errorf(passkeyd.EUnauthorized, errBadSession)
	}
	s, err := m.store.SessionByTokenHash(ctx, hashToken(token))
	if passkeyd.ErrorCodeOf(err) == passkeyd.ENotFound {
		return nil, passkeyd.Errorf(passkeyd.EUnauthorized, errBadSession)
	}
	return s, err
}
