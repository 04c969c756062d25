package manager

import (
	"context"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// settleTime is how long after a create passkeyd trusts the absence of a
// method in Graph's list: Graph is eventually consistent, and a new method
// may be missing from lists for a while (graph-api.md §7).
const settleTime = 10 * time.Minute

// createSkew bounds how far Entra's createdDateTime of a method may lie
// from the moment passkeyd recorded its intent (clock skew, slow calls).
const createSkew = 5 * time.Minute

// ResolvePasskey settles a passkey whose create outcome is unknown, by
// listing the user's methods and matching — never by creating again. It is
// the work of a JobResolvePasskey: a match makes the passkey active; no
// match once Graph has had time to settle makes it failed; an ambiguous
// match is left unknown for an admin.
func (m *Manager) ResolvePasskey(ctx context.Context, passkeyID string) error {
	ctx = passkeyd.WithActor(ctx, passkeyd.SystemActor)
	pk, err := m.store.Passkey(ctx, passkeyID)
	if passkeyd.ErrorCodeOf(err) == passkeyd.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if pk.State != passkeyd.PasskeyUnknown {
		return nil // settled already (or being revoked, which searches itself)
	}
	g, _, err := m.graphClient(ctx)
	if err != nil {
		return &passkeyd.RetryLater{After: 5 * time.Minute, Reason: passkeyd.ErrorMessage(err), Err: err}
	}
	method, err := m.findMethod(ctx, g, pk)
	if amb, ok := err.(*ambiguousError); ok {
		pk.LastError, pk.UpdatedAt = amb.Error(), m.now()
		ev := failure(m.event(ctx, "passkey.resolve_ambiguous", "passkey", pk.ID, nil), pk.LastError)
		return m.store.UpdatePasskey(ctx, pk, passkeyd.PasskeyUnknown, ev)
	}
	if err != nil {
		return err
	}
	now := m.now()
	if method == nil {
		if now.Sub(pk.CreatedAt) < settleTime {
			return &passkeyd.RetryLater{After: time.Minute, Reason: "Entra may not list a new method yet"}
		}
		pk.State, pk.LastError, pk.UpdatedAt = passkeyd.PasskeyFailed, "Entra holds no matching method: the create did not happen", now
		ev := failure(m.event(ctx, "passkey.resolved", "passkey", pk.ID, map[string]any{"outcome": "not created"}), pk.LastError)
		return m.store.UpdatePasskey(ctx, pk, passkeyd.PasskeyUnknown, ev)
	}
	pk.State, pk.GraphMethodID, pk.LastError, pk.UpdatedAt = passkeyd.PasskeyActive, method.ID, "", now
	pk.AttestationLevel, pk.PasskeyType = method.AttestationLevel, method.PasskeyType
	ev := m.event(ctx, "passkey.resolved", "passkey", pk.ID, map[string]any{"outcome": "created", "graph_method_id": method.ID})
	return m.store.UpdatePasskey(ctx, pk, passkeyd.PasskeyUnknown, ev)
}

// ambiguousError says that several methods match a passkey.
type ambiguousError struct{ n int }

func (a *ambiguousError) Error() string {
	return "several methods in Entra match this passkey; an admin must decide which is passkeyd's"
}

// findMethod looks for the method a create may have made for pk: among the
// user's methods that no passkeyd passkey claims, the one with pk's AAGUID
// and display name created around pk's intent. Graph does not return the
// credential ID, so these are the only keys there are (graph-api.md §7).
func (m *Manager) findMethod(ctx context.Context, g passkeyd.GraphClient, pk *passkeyd.Passkey) (*passkeyd.Fido2Method, error) {
	u, err := m.store.User(ctx, pk.UserID)
	if err != nil {
		return nil, err
	}
	methods, err := g.ListMethods(ctx, u.GraphUser())
	if err != nil {
		return nil, err
	}
	claimed, err := m.claimedMethods(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var found []passkeyd.Fido2Method
	for _, meth := range methods {
		if claimed[meth.ID] || !strings.EqualFold(meth.AAGUID, pk.AAGUID) || meth.DisplayName != pk.DisplayName {
			continue
		}
		if d := meth.CreatedDateTime.Sub(pk.CreatedAt); d < -createSkew || d > time.Hour {
			continue
		}
		found = append(found, meth)
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	}
	return nil, &ambiguousError{n: len(found)}
}

// claimedMethods is the set of Graph method IDs passkeyd holds for a user.
func (m *Manager) claimedMethods(ctx context.Context, userID string) (map[string]bool, error) {
	claimed := map[string]bool{}
	page := passkeyd.PasskeyFilter{UserID: userID, Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}}
	for {
		pks, err := m.store.Passkeys(ctx, page)
		if err != nil {
			return nil, err
		}
		for _, p := range pks {
			if p.GraphMethodID != "" {
				claimed[p.GraphMethodID] = true
			}
		}
		if len(pks) < passkeyd.MaxPageSize {
			return claimed, nil
		}
		page.Cursor = pks[len(pks)-1].ID
	}
}

// SweepRegistrations settles registrations that no node will finish: a
// passkey still in registering registrationGrace after its intent was
// recorded belongs to a node that stopped between the intent and the
// outcome (a crash, a kill, a power cut that took the outcome's commit).
// Whether Entra created the method is unknown, so the passkey goes to
// unknown with a resolution job — which lists and matches, never creates
// again — and its enrollment to failed. Passkeys of removed devices are
// revoking, not registering, and their revocation searches itself. It
// returns how many it handed to resolution.
func (m *Manager) SweepRegistrations(ctx context.Context) (int, error) {
	ctx = passkeyd.WithActor(ctx, passkeyd.SystemActor)
	var stale []passkeyd.Passkey
	f := passkeyd.PasskeyFilter{State: passkeyd.PasskeyRegistering, Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}}
	for {
		pks, err := m.store.Passkeys(ctx, f)
		if err != nil {
			return 0, err
		}
		for _, pk := range pks {
			if m.now().Sub(pk.CreatedAt) >= registrationGrace {
				stale = append(stale, pk)
			}
		}
		if len(pks) < f.Limit {
			break
		}
		f.Cursor = pks[len(pks)-1].ID
	}
	n := 0
	for i := range stale {
		pk := &stale[i]
		now := m.now()
		pk.State, pk.LastError, pk.UpdatedAt = passkeyd.PasskeyUnknown, "the registration was interrupted; Entra did not confirm it", now
		ev := failure(m.event(ctx, "passkey.registration_interrupted", "passkey", pk.ID, nil), pk.LastError)
		err := m.store.UpdatePasskey(ctx, pk, passkeyd.PasskeyRegistering, ev, passkeyd.Job{Kind: passkeyd.JobResolvePasskey, PasskeyID: pk.ID})
		if passkeyd.ErrorCodeOf(err) == passkeyd.EConflict {
			continue // its node finished it after all, or the device was removed
		}
		if err != nil {
			return n, err
		}
		n++
		// The enrollment follows; if this fails, it stays registering
		// (cosmetic: the passkey is what is resolved and revoked).
		e, err := m.store.Enrollment(ctx, pk.EnrollmentID)
		if err != nil {
			continue
		}
		e.State, e.Error, e.UpdatedAt = passkeyd.EnrollmentFailed, errOutcomeUnknown, now
		if err := m.store.UpdateEnrollment(ctx, e, passkeyd.EnrollmentRegistering, m.event(ctx, "enrollment.interrupted", "enrollment", e.ID, nil)); err != nil &&
			passkeyd.ErrorCodeOf(err) != passkeyd.EConflict {
			m.log.WarnContext(ctx, "could not mark an interrupted enrollment failed", "enrollment_id", e.ID, "err", err)
		}
	}
	return n, nil
}
