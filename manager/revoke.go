package manager

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/google/uuid"

	passkeyd "github.com/passkeyd/passkeyd"
)

// registrationGrace is how long a revocation waits for a registration that
// was in flight when its device was removed to report its Graph method ID.
const registrationGrace = 10 * time.Minute

// RevokePasskey deletes a revoking passkey from Entra and records the
// outcome. It is the work of a JobRevokePasskey and is idempotent: a
// passkey in any other state is left alone, and Graph's 404 counts as done.
//
// It returns nil when the job is finished (revoked, or permanently failed
// and recorded as revoke_failed), *passkeyd.RetryLater for throttling and
// registrations in flight, and other errors for transient failures that
// the queue retries with backoff.
func (m *Manager) RevokePasskey(ctx context.Context, passkeyID string) (err error) {
	ctx = passkeyd.WithActor(ctx, passkeyd.SystemActor)
	defer func() { m.metrics.ObserveRevocation(revocationOutcome(err)) }()
	pk, err := m.store.Passkey(ctx, passkeyID)
	if passkeyd.ErrorCodeOf(err) == passkeyd.ENotFound {
		return nil // nothing to do; the job outlived its passkey
	}
	if err != nil {
		return err
	}
	if pk.State != passkeyd.PasskeyRevoking {
		return nil
	}
	if pk.GraphMethodID == "" {
		return m.revokeUnregistered(ctx, pk)
	}
	u, err := m.store.User(ctx, pk.UserID)
	if err != nil {
		return err
	}
	g, c, err := m.graphClient(ctx)
	if err != nil {
		// Disabled or broken connector: keep the intent, try again later.
		return &passkeyd.RetryLater{After: 5 * time.Minute, Reason: passkeyd.ErrorMessage(err), Err: err}
	}
	// Every node honours the tenant's last Retry-After, so a throttled
	// tenant is not hammered by the other workers meanwhile.
	scope := throttleScope(c)
	if until, err := m.store.Throttle(ctx, scope); err != nil {
		return err
	} else if wait := until.Sub(m.now()); wait > 0 {
		return &passkeyd.RetryLater{After: wait + jitter(wait), Reason: "Entra asked this tenant's writes to wait"}
	}
	if m.writes != nil {
		// Pace to the quota (a few hundred milliseconds at most at the
		// default rate with a handful of workers), rather than learn it
		// from 429s that stall every worker for a whole second.
		if err := m.writes.Wait(ctx); err != nil {
			return err
		}
	}
	crid := uuid.NewString()
	err = g.DeleteMethod(passkeyd.WithClientRequestID(ctx, crid), u.GraphUser(), pk.GraphMethodID)
	ge := passkeyd.AsGraphError(err)
	switch {
	case ge != nil && ge.Status == http.StatusNotFound && m.now().Sub(pk.CreatedAt) < settleTime:
		// A young method may be missing from Graph's reads while it still
		// exists (replication lag): a 404 now proves nothing. Delete again
		// once Graph has settled; a 404 then means it is really gone.
		wait := settleTime - m.now().Sub(pk.CreatedAt)
		m.audit(ctx, m.graphEvent(ctx, "passkey.revoke_unconfirmed", "passkey", pk.ID, crid, map[string]any{"retry_after_seconds": wait.Seconds()}))
		return &passkeyd.RetryLater{After: wait, Reason: "Graph answered 404 for a young method; confirming once Graph has settled"}
	case err == nil || (ge != nil && ge.Status == http.StatusNotFound):
		now := m.now()
		pk.State, pk.RevokedAt, pk.UpdatedAt, pk.LastError = passkeyd.PasskeyRevoked, &now, now, ""
		details := map[string]any{"graph_method_id": pk.GraphMethodID, "device_id": pk.DeviceID}
		if err != nil {
			details["note"] = "Graph answered 404: already gone"
		}
		return m.store.UpdatePasskey(ctx, pk, passkeyd.PasskeyRevoking, m.graphEvent(ctx, "passkey.revoked", "passkey", pk.ID, crid, details))
	case ge == nil:
		return err
	case ge.Op == "token" && !ge.Temporary():
		// The credential stopped working (secret expired or revoked,
		// consent withdrawn): an admin will fix it, and the revocation
		// must survive until then. Not the passkey's failure.
		m.audit(ctx, failure(m.graphEvent(ctx, "passkey.revoke_attempt_failed", "passkey", pk.ID, crid, nil), "Entra refused passkeyd's credential: "+graphReason(err)))
		return &passkeyd.RetryLater{After: 5 * time.Minute, Reason: "the connector's credential was refused; fix it and revocations resume", Err: err}
	case ge.Temporary():
		after := ge.RetryAfter
		if after <= 0 {
			m.audit(ctx, failure(m.graphEvent(ctx, "passkey.revoke_attempt_failed", "passkey", pk.ID, crid, nil), graphReason(err)))
			return err // the queue's backoff with jitter applies
		}
		m.audit(ctx, failure(m.graphEvent(ctx, "passkey.revoke_throttled", "passkey", pk.ID, crid, map[string]any{"retry_after_seconds": after.Seconds()}), graphReason(err)))
		if err := m.store.SetThrottle(ctx, scope, m.now().Add(after)); err != nil {
			m.log.WarnContext(ctx, "could not share throttle state", "err", err)
		}
		return &passkeyd.RetryLater{After: after, Reason: graphReason(err), Err: err}
	default:
		// Permanent (403, 400, 401 after refresh): retrying cannot help.
		// Record it for an admin instead of burning attempts.
		pk.State, pk.LastError, pk.UpdatedAt = passkeyd.PasskeyRevokeFailed, graphReason(err), m.now()
		ev := failure(m.graphEvent(ctx, "passkey.revoke_failed", "passkey", pk.ID, crid, nil), pk.LastError)
		return m.store.UpdatePasskey(ctx, pk, passkeyd.PasskeyRevoking, ev)
	}
}

// revokeUnregistered handles a revoking passkey with no Graph method ID:
// its registration was in flight, or its outcome unknown, when the device
// was removed. A registration still in flight gets time to hand over its
// method ID (handOverToRevocation); one that Entra refused left nothing to
// delete; otherwise Entra is searched for the method (findMethod) and what
// is found is deleted.
func (m *Manager) revokeUnregistered(ctx context.Context, pk *passkeyd.Passkey) error {
	e, err := m.store.Enrollment(ctx, pk.EnrollmentID)
	if err != nil {
		return err
	}
	age := m.now().Sub(pk.CreatedAt)
	switch {
	case e.State == passkeyd.EnrollmentRegistering && age < registrationGrace:
		return &passkeyd.RetryLater{After: 30 * time.Second, Reason: "registration still in flight"}
	case e.State == passkeyd.EnrollmentFailed && e.Error != errOutcomeUnknown:
		// Entra refused the registration: nothing exists to delete.
		now := m.now()
		pk.State, pk.RevokedAt, pk.UpdatedAt = passkeyd.PasskeyRevoked, &now, now
		ev := m.event(ctx, "passkey.revoked", "passkey", pk.ID, map[string]any{"note": "never registered in Entra"})
		return m.store.UpdatePasskey(ctx, pk, passkeyd.PasskeyRevoking, ev)
	}
	g, _, err := m.graphClient(ctx)
	if err != nil {
		return &passkeyd.RetryLater{After: 5 * time.Minute, Reason: passkeyd.ErrorMessage(err), Err: err}
	}
	method, err := m.findMethod(ctx, g, pk)
	if err != nil {
		return err
	}
	now := m.now()
	if method == nil {
		if age < settleTime {
			return &passkeyd.RetryLater{After: time.Minute, Reason: "Entra may not list a new method yet"}
		}
		pk.State, pk.RevokedAt, pk.UpdatedAt = passkeyd.PasskeyRevoked, &now, now
		ev := m.event(ctx, "passkey.revoked", "passkey", pk.ID, map[string]any{"note": "Entra holds no matching method: it was never created"})
		return m.store.UpdatePasskey(ctx, pk, passkeyd.PasskeyRevoking, ev)
	}
	pk.GraphMethodID, pk.UpdatedAt = method.ID, now
	ev := m.event(ctx, "passkey.adopted", "passkey", pk.ID, map[string]any{"graph_method_id": method.ID, "note": "found in Entra after an unknown outcome; revoking"})
	if err := m.store.UpdatePasskey(ctx, pk, passkeyd.PasskeyRevoking, ev); err != nil {
		return err
	}
	return m.RevokePasskey(ctx, pk.ID)
}

// throttleScope names the quota Graph applies to passkeyd's writes: per
// app and tenant (graph-api.md §7).
func throttleScope(c *passkeyd.Connector) string {
	return "graph-write:" + c.TenantID + ":" + c.ClientID
}

// jitter spreads the wake-ups of jobs that waited for the same throttle
// over a tenth of the wait (at most 5 s), so they do not all retry at once.
func jitter(wait time.Duration) time.Duration {
	return rand.N(min(wait/10, 5*time.Second) + 1)
}

// revocationOutcome names the result of one revocation attempt for
// metrics: a fixed set, so the label cannot grow without bound.
func revocationOutcome(err error) string {
	switch {
	case err == nil:
		return "done"
	case isRetryLater(err):
		return "postponed"
	}
	return "error"
}
