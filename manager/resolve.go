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
