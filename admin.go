package passkeyd

import (
	"context"
	"time"
)

// AdminUser is a person who signs in to the admin web UI.
type AdminUser struct {
	ID           string     `json:"id"`
	Username     string     `json:"username"`
	Role         Role       `json:"role"`
	PasswordHash string     `json:"-"` // argon2id, PHC string form
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	DisabledAt   *time.Time `json:"disabled_at,omitempty"`
}

// Session is a signed-in admin's server-side session. Only the hash of
// its token is stored; the token lives in a __Host- cookie.
type Session struct {
	ID        string    `json:"id"`
	AdminID   string    `json:"admin_id"`
	TokenHash []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	// LastSeenAt drives the idle timeout, ExpiresAt the absolute one.
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Session lifetimes.
const (
	SessionIdleTimeout     = 30 * time.Minute
	SessionAbsoluteTimeout = 12 * time.Hour
	// MaxFailedLogins per account per hour; more answer 429.
	MaxFailedLogins = 100
)

// AdminAuthService signs admins in and out of the web UI.
type AdminAuthService interface {
	// CreateAdmin adds an admin (first admin: `passkeyd admin create`).
	CreateAdmin(ctx context.Context, username string, password Secret, role Role) (*AdminUser, error)
	// Login checks the password (argon2id) and opens a new session,
	// returning its token once. Failed attempts are audited and limited
	// (MaxFailedLogins per account per hour: ERateLimited).
	Login(ctx context.Context, username string, password Secret) (*AdminUser, *Session, Secret, error)
	// SessionAdmin returns the admin of a live session (idle and absolute
	// timeouts applied; the idle clock is refreshed); EUnauthorized
	// otherwise.
	SessionAdmin(ctx context.Context, token Secret) (*AdminUser, *Session, error)
	// Logout ends the session of token.
	Logout(ctx context.Context, token Secret) error
}
