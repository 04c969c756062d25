package ui

import (
	"net/http"
	"strconv"

	passkeyd "github.com/passkeyd/passkeyd"
)

// dashboardData is the Data of the dashboard. Counts are strings: a list
// is read one page (MaxPageSize) at most, and a full page shows as "1000+".
type dashboardData struct {
	Users, Devices, Active, Revoking, RevokeFailed string
	// Drift as the last reconciliation left it: passkeys deleted outside
	// passkeyd (missing) and create outcomes still unknown.
	Missing, Unknown string
	Connector        *passkeyd.Connector
	Warnings         []string
}

// count lists one page and says how many it held.
func count[T any](items []T, err error) (string, error) {
	if err != nil {
		return "", err
	}
	if len(items) >= passkeyd.MaxPageSize {
		return strconv.Itoa(len(items)) + "+", nil
	}
	return strconv.Itoa(len(items)), nil
}

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	page := passkeyd.Page{Limit: passkeyd.MaxPageSize}
	var d dashboardData
	var err error
	if d.Users, err = count(u.svc.Users(ctx, passkeyd.UserFilter{Page: page})); err != nil {
		return err
	}
	if d.Devices, err = count(u.svc.Devices(ctx, passkeyd.DeviceFilter{State: passkeyd.DeviceActive, Page: page})); err != nil {
		return err
	}
	for _, c := range []struct {
		dst   *string
		state passkeyd.PasskeyState
	}{{&d.Active, passkeyd.PasskeyActive}, {&d.Revoking, passkeyd.PasskeyRevoking}, {&d.RevokeFailed, passkeyd.PasskeyRevokeFailed},
		{&d.Missing, passkeyd.PasskeyMissing}, {&d.Unknown, passkeyd.PasskeyUnknown}} {
		if *c.dst, err = count(u.svc.Passkeys(ctx, passkeyd.PasskeyFilter{State: c.state, Page: page})); err != nil {
			return err
		}
	}
	if d.Connector, err = u.svc.Connector(ctx); err != nil {
		return err
	}
	now := u.now()
	if !d.Connector.Enabled {
		d.Warnings = append(d.Warnings, "The connector is disabled: no passkey can be enrolled or revoked in Entra.")
	}
	if msg := expiryWarning(now, d.Connector.ClientSecretExpiresAt, "client secret"); msg != "" {
		d.Warnings = append(d.Warnings, msg)
	}
	if c := d.Connector.Certificate; c != nil && !c.NotAfter.IsZero() {
		na := c.NotAfter
		if msg := expiryWarning(now, &na, "client certificate"); msg != "" {
			d.Warnings = append(d.Warnings, msg)
		}
	}
	if d.RevokeFailed != "0" {
		d.Warnings = append(d.Warnings, "Some revocations failed: see Jobs.")
	}
	v.Title, v.Nav, v.Data = "Dashboard", "dashboard", d
	u.render(w, r, http.StatusOK, "dashboard", v)
	return nil
}
