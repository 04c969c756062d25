package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	passkeyd "github.com/passkeyd/passkeyd"
)

// SQLSTATE codes this package tells apart.
const (
	sqlstateUniqueViolation     = "23505"
	sqlstateForeignKeyViolation = "23503"
	sqlstateCharacterNotInRep   = "22021" // e.g. a NUL in text
	sqlstateUntranslatable      = "22P05"
	sqlstateDatetimeOverflow    = "22008"
	sqlstateCheckViolation      = "23514"
)

// uniqueMessages names, for each unique constraint or index of the schema,
// the conflict in words an admin understands; the messages are the same as
// store/sqlite's. PostgreSQL reports the constraint's name.
var uniqueMessages = map[string]string{
	"connectors_pkey":           "a connector with this ID already exists",
	"policies_pkey":             "a policy with this ID already exists",
	"users_pkey":                "a user with this ID already exists",
	"users_upn":                 "a user with this UPN already exists",
	"users_entra_object_id":     "a user with this Entra object ID already exists",
	"invitations_pkey":          "an invitation with this ID already exists",
	"invitations_code_hash":     "an invitation with this code already exists",
	"devices_pkey":              "a device with this ID already exists",
	"devices_token_hash":        "a device with this token already exists",
	"enrollments_pkey":          "an enrollment with this ID already exists",
	"passkeys_pkey":             "a passkey with this ID already exists",
	"passkeys_credential_id":    "a passkey with this credential ID already exists",
	"api_tokens_pkey":           "an API token with this ID already exists",
	"api_tokens_hash":           "an API token with this value already exists",
	"admin_users_pkey":          "an admin with this ID already exists",
	"admin_users_username":      "an admin with this username already exists",
	"admin_sessions_pkey":       "a session with this ID already exists",
	"admin_sessions_token_hash": "a session with this token already exists",
	"admin_login_failures_pkey": "this login failure is already recorded",
	"audit_events_pkey":         "audit sequence number already taken",
	"throttles_pkey":            "throttle state for this scope already exists",
	"cursors_pkey":              "a cursor with this name already exists",
	"idempotency_keys_pkey":     "this Idempotency-Key is already in use",
	"schema_migrations_pkey":    "migration already applied",
}

// dbError turns a database error into a *passkeyd.Error: unique
// violations become EConflict with a precise message, a missing referenced
// row ENotFound; text PostgreSQL cannot store (NUL), a time out of its
// range or a value a CHECK refuses become EInvalid; anything else EInternal
// with a generic message. SQL text and server messages stay in Err, never
// in Message.
func dbError(err error, generic string) error {
	return mapError(err, generic, "", "")
}

// mapError is dbError that also turns pgx.ErrNoRows into ENotFound with
// notFound (when set) and names a missing referenced row with missingRef.
func mapError(err error, generic, notFound, missingRef string) error {
	if err == nil {
		return nil
	}
	var pe *passkeyd.Error
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) && notFound != "" {
		return passkeyd.WrapError(passkeyd.ENotFound, err, "%s", notFound)
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case sqlstateUniqueViolation:
			msg, ok := uniqueMessages[pg.ConstraintName]
			if !ok {
				msg = "the record already exists"
			}
			return passkeyd.WrapError(passkeyd.EConflict, err, "%s", msg)
		case sqlstateForeignKeyViolation:
			if missingRef == "" {
				missingRef = "a record it refers to does not exist"
			}
			return passkeyd.WrapError(passkeyd.ENotFound, err, "%s", missingRef)
		case sqlstateCharacterNotInRep, sqlstateUntranslatable:
			return passkeyd.WrapError(passkeyd.EInvalid, err, "text must be valid UTF-8 without NUL characters")
		case sqlstateDatetimeOverflow:
			return passkeyd.WrapError(passkeyd.EInvalid, err, "a time is out of range")
		case sqlstateCheckViolation:
			// The schema's CHECKs guard enumerations (states, roles, modes).
			return passkeyd.WrapError(passkeyd.EInvalid, err, "a value is not one of the allowed ones")
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
