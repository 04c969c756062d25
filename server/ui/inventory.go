package ui

import (
	"net/http"

	passkeyd "github.com/passkeyd/passkeyd"
)

// devicesData is the Data of the devices pages.
type devicesData struct {
	State    string
	UserID   string
	Devices  []passkeyd.Device
	Device   *passkeyd.Device
	Passkeys []passkeyd.Passkey
	// Live counts the passkeys a removal will revoke.
	Live int
}

func (u *UI) devicesPage(w http.ResponseWriter, r *http.Request, v *view) error {
	f := &form{r: r}
	flt := passkeyd.DeviceFilter{
		UserID: f.id("user_id"),
		State:  passkeyd.DeviceState(f.oneOf("state", string(passkeyd.DeviceActive), string(passkeyd.DeviceRemoved))),
	}
	if err := f.err("invalid filter"); err != nil {
		return err
	}
	ds, err := u.svc.Devices(r.Context(), flt)
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Devices", "devices", devicesData{State: string(flt.State), UserID: flt.UserID, Devices: ds}
	u.render(w, r, http.StatusOK, "devices", v)
	return nil
}

// loadDevice returns the device of the {id} path value with its passkeys.
func (u *UI) loadDevice(r *http.Request) (*devicesData, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	d, err := u.svc.Device(r.Context(), id)
	if err != nil {
		return nil, err
	}
	pks, err := u.svc.Passkeys(r.Context(), passkeyd.PasskeyFilter{DeviceID: id})
	if err != nil {
		return nil, err
	}
	data := &devicesData{Device: d, Passkeys: pks}
	for _, p := range pks {
		if p.State.Live() {
			data.Live++
		}
	}
	return data, nil
}

// devicePage shows a device and its passkeys' states: after a removal,
// the revocation progress.
func (u *UI) devicePage(w http.ResponseWriter, r *http.Request, v *view) error {
	d, err := u.loadDevice(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("removed") != "" {
		v.Flash = "Device removed; its passkeys are being revoked in Entra."
	}
	v.Title, v.Nav, v.Data = "Device "+d.Device.Name, "devices", d
	u.render(w, r, http.StatusOK, "device", v)
	return nil
}

func (u *UI) removeDeviceConfirm(w http.ResponseWriter, r *http.Request, v *view) error {
	d, err := u.loadDevice(r)
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Remove device "+d.Device.Name, "devices", d
	u.render(w, r, http.StatusOK, "remove_device", v)
	return nil
}

func (u *UI) removeDevice(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, _, err := u.svc.RemoveDevice(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"devices/"+id+"?removed=1", http.StatusSeeOther)
	return nil
}

// passkeyStates are the values of the passkey state filter.
func passkeyStates() []string {
	return []string{
		string(passkeyd.PasskeyRegistering), string(passkeyd.PasskeyActive), string(passkeyd.PasskeyUnknown),
		string(passkeyd.PasskeyFailed), string(passkeyd.PasskeyRevoking), string(passkeyd.PasskeyRevoked),
		string(passkeyd.PasskeyRevokeFailed), string(passkeyd.PasskeyMissing),
	}
}

// passkeysData is the Data of the passkeys and jobs pages.
type passkeysData struct {
	State    string
	States   []string
	UserID   string
	Passkeys []passkeyd.Passkey
	// Failed and Pending are the jobs page's revocations.
	Failed  []passkeyd.Passkey
	Pending []passkeyd.Passkey
	Drift   *passkeyd.DriftReport
}

func (u *UI) passkeysPage(w http.ResponseWriter, r *http.Request, v *view) error {
	f := &form{r: r}
	flt := passkeyd.PasskeyFilter{
		UserID:   f.id("user_id"),
		DeviceID: f.id("device_id"),
		State:    passkeyd.PasskeyState(f.oneOf("state", passkeyStates()...)),
	}
	if err := f.err("invalid filter"); err != nil {
		return err
	}
	pks, err := u.svc.Passkeys(r.Context(), flt)
	if err != nil {
		return err
	}
	v.Title, v.Nav = "Passkeys", "passkeys"
	v.Data = passkeysData{State: string(flt.State), States: passkeyStates(), UserID: flt.UserID, Passkeys: pks}
	u.render(w, r, http.StatusOK, "passkeys", v)
	return nil
}

// revokePasskey queues the revocation of one passkey, or retries a failed
// one, then returns to the page the button was on.
func (u *UI) revokePasskey(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r, maxFormBytes); err != nil {
		return err
	}
	if _, err := u.svc.RequestRevocation(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, backTo(r, Prefix+"passkeys"), http.StatusSeeOther)
	return nil
}

// loadJobs fills the revocations of the jobs page.
func (u *UI) loadJobs(r *http.Request, d *passkeysData) error {
	var err error
	if d.Failed, err = u.svc.Passkeys(r.Context(), passkeyd.PasskeyFilter{State: passkeyd.PasskeyRevokeFailed}); err != nil {
		return err
	}
	d.Pending, err = u.svc.Passkeys(r.Context(), passkeyd.PasskeyFilter{State: passkeyd.PasskeyRevoking})
	return err
}

func (u *UI) jobsPage(w http.ResponseWriter, r *http.Request, v *view) error {
	var d passkeysData
	if err := u.loadJobs(r, &d); err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Jobs", "jobs", d
	u.render(w, r, http.StatusOK, "jobs", v)
	return nil
}

// reconcile compares the inventory with Entra (one user or all) and shows
// the drift on the jobs page.
func (u *UI) reconcile(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := parseForm(w, r, maxFormBytes); err != nil {
		return err
	}
	f := &form{r: r}
	userID := f.id("user_id")
	if err := f.err("invalid reconciliation"); err != nil {
		return err
	}
	rep, err := u.svc.Reconcile(r.Context(), userID)
	if err != nil {
		return err
	}
	d := passkeysData{Drift: rep}
	if err := u.loadJobs(r, &d); err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Jobs", "jobs", d
	u.render(w, r, http.StatusOK, "jobs", v)
	return nil
}
