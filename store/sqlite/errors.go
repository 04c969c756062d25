package sqlite

import (
	"database/sql"
	"errors"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
	"modernc.org/sqlite"
)

// SQLite extended result codes this package tells apart.
const (
	sqliteConstraintForeignKey = 787
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// uniqueMessages names, for each unique column, the conflict in words an
// admin understands. SQLite reports "UNIQUE constraint failed: table.column".
var uniqueMessages = map[string]string{
	"connectors.id":             "a connector with this ID already exists",
	"policies.id":               "a policy with this ID already exists",
	"users.id":                  "a user with this ID already exists",
	"users.upn":                 "a user with this UPN already exists",
	"users.entra_object_id":     "a user with this Entra object ID already exists",
	"invitations.id":            "an invitation with this ID already exists",
	"invitations.code_hash":     "an invitation with this code already exists",
	"devices.id":                "a device with this ID already exists",
	"devices.token_hash":        "a device with this token already exists",
	"enrollments.id":            "an enrollment with this ID already exists",
	"passkeys.id":               "a passkey with this ID already exists",
	"passkeys.credential_id":    "a passkey with this credential ID already exists",
	"api_tokens.id":             "an API token with this ID already exists",
	"api_tokens.hash":           "an API token with this value already exists",
	"admin_users.id":            "an admin with this ID already exists",
	"admin_users.username":      "an admin with this username already exists",
	"admin_sessions.id":         "a session with this ID already exists",
	"admin_sessions.token_hash": "a session with this token already exists",
	"audit_events.seq":          "audit sequence number already taken",
	"schema_migrations.version": "migration already applied",
}

// dbError turns a database error into a *passkeyd.Error: unique
// violations become EConflict with a precise message, a missing referenced
// row ENotFound with missingRef, sql.ErrNoRows ENotFound with notFound, and
// anything else EInternal with a generic message. SQL text stays in Err,
// never in Message.
func dbError(err error, generic string) error {
	return mapError(err, generic, "", "")
}

func mapError(err error, generic, notFound, missingRef string) error {
	if err == nil {
		return nil
	}
	var pe *passkeyd.Error
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) && notFound != "" {
		return passkeyd.WrapError(passkeyd.ENotFound, err, "%s", notFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqliteConstraintUnique, sqliteConstraintPrimaryKey:
			msg := "the record already exists"
			// The driver prefixes SQLite's own "UNIQUE constraint failed:
			// users.upn" with its own text; the last occurrence is SQLite's.
			text := se.Error()
			if i := strings.LastIndex(text, "constraint failed: "); i >= 0 {
				col := text[i+len("constraint failed: "):]
				col, _, _ = strings.Cut(col, " ")
				col, _, _ = strings.Cut(col, ",")
				if m, ok := uniqueMessages[col]; ok {
					msg = m
				}
			}
			return passkeyd.WrapError(passkeyd.EConflict, err, "%s", msg)
		case sqliteConstraintForeignKey:
			if missingRef == "" {
				missingRef = "a record it refers to does not exist"
			}
			return passkeyd.WrapError(passkeyd.ENotFound, err, "%s", missingRef)
		}
	}
	return passkeyd.WrapError(passkeyd.EInternal, err, "%s", generic)
}

// opError sets the operation on a *passkeyd.Error (without replacing one
// set deeper) or wraps any other error as internal.
func opError(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *passkeyd.Error
	if errors.As(err, &pe) {
		if pe.Op == "" {
			pe.Op = op
		}
		return err
	}
	return &passkeyd.Error{Code: passkeyd.EInternal, Op: op, Message: "database error", Err: err}
}

// notFound returns the ENotFound error for what.
func notFound(what string) error {
	return passkeyd.Errorf(passkeyd.ENotFound, "%s not found", what)
}
