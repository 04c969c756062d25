package manager

import (
	"context"

	passkeyd "github.com/passkeyd/passkeyd"
)

// OffboardUser withdraws everything that lets a user hold or get a
// passkey through passkeyd, in this order so that nothing new appears
// behind it:
//
//  1. the user's unused invitations are cancelled (their codes no longer
//     register a device);
//  2. every active device of the user is removed, through the same path
//     as DELETE /devices/{id}: its token stops working and its passkeys
//     are queued for revocation in the same transaction;
//  3. any other live passkey of the user (e.g. one whose revocation
//     failed earlier) is queued for revocation.
//
// Each step is audited as it happens, and a user.offboarded event sums
// them up. The steps are separate transactions: if the run stops half-way,
// running it again finishes it.
func (m *Manager) OffboardUser(ctx context.Context, userID string) (*passkeyd.Offboarding, error) {
	if _, err := m.store.User(ctx, userID); err != nil {
		return nil, err
	}
	res := &passkeyd.Offboarding{UserID: userID}

	ev := m.event(ctx, "invitation.cancelled", "user", userID, map[string]any{"reason": "offboarding"})
	n, err := m.store.CancelInvitations(ctx, userID, m.now(), ev)
	if err != nil {
		return nil, err
	}
	res.InvitationsCancelled = n

	for {
		devs, err := m.store.Devices(ctx, passkeyd.DeviceFilter{UserID: userID, State: passkeyd.DeviceActive, Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}})
		if err != nil {
			return nil, err
		}
		removed := 0
		for _, d := range devs {
			_, pks, err := m.store.RemoveDevice(ctx, d.ID, m.now(), m.event(ctx, "device.removed", "device", d.ID, map[string]any{"reason": "offboarding"}))
			if passkeyd.ErrorCodeOf(err) == passkeyd.EConflict {
				continue // removed meanwhile
			}
			if err != nil {
				return nil, err
			}
			removed++
			res.DevicesRemoved++
			res.PasskeysRevoking += len(pks)
		}
		// Removed devices leave the active filter, so the next page is
		// the first again; a full page means there may be more.
		if len(devs) < passkeyd.MaxPageSize || removed == 0 {
			break
		}
	}

	bulk, err := m.RevokePasskeys(ctx, passkeyd.PasskeyFilter{UserID: userID})
	if err != nil {
		return nil, err
	}
	res.PasskeysRevoking += bulk.Queued

	details := map[string]any{"invitations_cancelled": res.InvitationsCancelled, "devices_removed": res.DevicesRemoved,
		"passkeys_revoking": res.PasskeysRevoking}
	if len(res.Warnings) > 0 {
		details["warnings"] = res.Warnings
	}
	m.audit(ctx, m.event(ctx, "user.offboarded", "user", userID, details))
	return res, nil
}
