package manager

import (
	"context"
	"strings"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Reconcile compares passkeyd's inventory with Entra for one user (userID)
// or for every user with passkeys (userID ""), and reports the drift:
//   - managed passkeys Entra no longer holds become missing (audited,
//     never re-created);
//   - passkeys whose create outcome was unknown are settled by matching
//     (ResolvePasskey), adopting methods passkeyd created but lost track of;
//   - methods registered outside passkeyd are listed as unmanaged and never
//     touched.
//
// Methods younger than settleTime are left alone: Graph's lists lag.
func (m *Manager) Reconcile(ctx context.Context, userID string) (*passkeyd.DriftReport, error) {
	rep := &passkeyd.DriftReport{StartedAt: m.now()}
	g, _, err := m.graphClient(ctx)
	if err != nil {
		return nil, err
	}
	err = m.eachUser(ctx, userID, func(u *passkeyd.User) {
		if err := m.reconcileUser(ctx, g, u, rep); err != nil {
			rep.Errors = append(rep.Errors, passkeyd.DriftError{UserID: u.ID, UPN: u.UPN, Error: graphReason(err)})
		}
		rep.Users++
	})
	if err != nil {
		return nil, err
	}
	rep.FinishedAt = m.now()
	if userID == "" {
		m.metrics.ObserveDrift(len(rep.Missing), len(rep.Adopted), len(rep.Unmanaged))
	}
	ev := m.event(ctx, "reconcile.finished", "user", userID, map[string]any{
		"users": rep.Users, "missing": len(rep.Missing), "adopted": len(rep.Adopted),
		"unmanaged": len(rep.Unmanaged), "errors": len(rep.Errors)})
	if len(rep.Errors) > 0 {
		ev = failure(ev, "some users could not be reconciled")
	}
	m.audit(ctx, ev)
	return rep, nil
}

// eachUser calls fn with the one user asked for, or with every user, a
// page at a time: memory stays at one page of users whatever their number
// (a million users held at once was 400 MB).
func (m *Manager) eachUser(ctx context.Context, userID string, fn func(*passkeyd.User)) error {
	if userID != "" {
		u, err := m.store.User(ctx, userID)
		if err != nil {
			return err
		}
		fn(u)
		return nil
	}
	f := passkeyd.UserFilter{Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}}
	for {
		us, err := m.store.Users(ctx, f)
		if err != nil {
			return err
		}
		for i := range us {
			fn(&us[i])
		}
		if len(us) < passkeyd.MaxPageSize {
			return nil
		}
		f.Cursor = us[len(us)-1].ID
	}
}

func (m *Manager) reconcileUser(ctx context.Context, g passkeyd.GraphClient, u *passkeyd.User, rep *passkeyd.DriftReport) error {
	pks, err := m.allPasskeys(ctx, u.ID)
	if err != nil {
		return err
	}
	methods, err := g.ListMethods(ctx, u.GraphUser())
	if passkeyd.IsGraphNotFound(err) {
		methods, err = nil, nil // the user is gone from Entra: every method went with them
	}
	if err != nil {
		return err
	}
	inEntra := map[string]passkeyd.Fido2Method{}
	for _, meth := range methods {
		inEntra[meth.ID] = meth
	}
	now := m.now()
	claimed := map[string]bool{}
	for i := range pks {
		pk := &pks[i]
		if pk.GraphMethodID != "" {
			claimed[pk.GraphMethodID] = true
		}
		switch pk.State {
		case passkeyd.PasskeyActive:
			if _, ok := inEntra[pk.GraphMethodID]; ok || now.Sub(pk.UpdatedAt) < settleTime {
				continue
			}
			pk.State, pk.LastError = passkeyd.PasskeyMissing, "deleted in Entra outside passkeyd"
			ev := failure(m.event(ctx, "passkey.missing", "passkey", pk.ID, map[string]any{"graph_method_id": pk.GraphMethodID}), pk.LastError)
			if err := m.store.UpdatePasskey(ctx, pk, passkeyd.PasskeyActive, ev); err != nil {
				return err
			}
			rep.Missing = append(rep.Missing, passkeyd.DriftItem{UserID: u.ID, UPN: u.UPN, PasskeyID: pk.ID, MethodID: pk.GraphMethodID})
		case passkeyd.PasskeyUnknown:
			if err := m.ResolvePasskey(ctx, pk.ID); err != nil && !isRetryLater(err) {
				return err
			}
			if cur, err := m.store.Passkey(ctx, pk.ID); err == nil && cur.State == passkeyd.PasskeyActive {
				claimed[cur.GraphMethodID] = true
				rep.Adopted = append(rep.Adopted, passkeyd.DriftItem{UserID: u.ID, UPN: u.UPN, PasskeyID: pk.ID, MethodID: cur.GraphMethodID})
			}
		}
	}
	for _, meth := range methods {
		if claimed[meth.ID] {
			continue
		}
		rep.Unmanaged = append(rep.Unmanaged, passkeyd.DriftItem{UserID: u.ID, UPN: u.UPN, MethodID: meth.ID,
			DisplayName: meth.DisplayName, AAGUID: strings.ToLower(meth.AAGUID), CreatedAt: meth.CreatedDateTime})
	}
	return nil
}

func isRetryLater(err error) bool {
	_, ok := err.(*passkeyd.RetryLater)
	return ok
}

// allPasskeys is every passkey of a user, all pages.
func (m *Manager) allPasskeys(ctx context.Context, userID string) ([]passkeyd.Passkey, error) {
	var out []passkeyd.Passkey
	f := passkeyd.PasskeyFilter{UserID: userID, Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}}
	for {
		pks, err := m.store.Passkeys(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, pks...)
		if len(pks) < passkeyd.MaxPageSize {
			return out, nil
		}
		f.Cursor = pks[len(pks)-1].ID
	}
}

// RevokePasskeys queues the revocation of every live passkey matching f
// (by user for offboarding, by device, or by AAGUID for a vulnerable
// authenticator model). Each passkey moves to revoking with its audit
// event and its job in one transaction, so an interrupted bulk revocation
// loses nothing and can simply be repeated.
func (m *Manager) RevokePasskeys(ctx context.Context, f passkeyd.PasskeyFilter) (*passkeyd.BulkRevocation, error) {
	if f.UserID == "" && f.DeviceID == "" && f.AAGUID == "" {
		return nil, fieldError("filter", "name a user_id, device_id or aaguid: passkeyd never revokes everything at once")
	}
	f.State, f.Cursor, f.Limit = "", "", passkeyd.MaxPageSize
	res := &passkeyd.BulkRevocation{}
	for {
		pks, err := m.store.Passkeys(ctx, f)
		if err != nil {
			return nil, err
		}
		for i := range pks {
			pk := &pks[i]
			res.Matched++
			if !pk.State.Live() {
				continue
			}
			from := pk.State
			pk.State, pk.UpdatedAt = passkeyd.PasskeyRevoking, m.now()
			ev := m.event(ctx, "passkey.revoke_requested", "passkey", pk.ID, map[string]any{"bulk": true, "from_state": from})
			err := m.store.UpdatePasskey(ctx, pk, from, ev, passkeyd.Job{Kind: passkeyd.JobRevokePasskey, PasskeyID: pk.ID})
			if passkeyd.ErrorCodeOf(err) == passkeyd.EConflict {
				continue // changed meanwhile (revoked by another request)
			}
			if err != nil {
				return nil, err
			}
			res.Queued++
		}
		if len(pks) < passkeyd.MaxPageSize {
			break
		}
		f.Cursor = pks[len(pks)-1].ID
	}
	return res, nil
}

// RequestRevocation re-queues a passkey whose revocation failed permanently
// (revoke_failed), once an admin has fixed the cause (e.g. granted a
// missing permission).
func (m *Manager) RequestRevocation(ctx context.Context, passkeyID string) (*passkeyd.Passkey, error) {
	pk, err := m.store.Passkey(ctx, passkeyID)
	if err != nil {
		return nil, err
	}
	if pk.State != passkeyd.PasskeyRevokeFailed && pk.State != passkeyd.PasskeyActive {
		return nil, passkeyd.Errorf(passkeyd.EConflict, "the passkey is %s: only active or revoke_failed passkeys can be revoked", pk.State)
	}
	from := pk.State
	pk.State, pk.UpdatedAt = passkeyd.PasskeyRevoking, m.now()
	ev := m.event(ctx, "passkey.revoke_requested", "passkey", pk.ID, map[string]any{"from_state": from})
	if err := m.store.UpdatePasskey(ctx, pk, from, ev, passkeyd.Job{Kind: passkeyd.JobRevokePasskey, PasskeyID: pk.ID}); err != nil {
		return nil, err
	}
	return pk, nil
}
