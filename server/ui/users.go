package ui

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	qrcode "github.com/skip2/go-qrcode"
)

// policiesData is the Data of the policies pages.
type policiesData struct {
	Policies []passkeyd.Policy
	Policy   *passkeyd.Policy
	Modes    []passkeyd.PolicyMode
	Warnings []string
	// ConnectorReady is false when the connector is disabled: a policy
	// that offers passkeys cannot work then.
	ConnectorReady bool
}

func (u *UI) connectorReady(r *http.Request) (bool, error) {
	c, err := u.svc.Connector(r.Context())
	if err != nil {
		return false, err
	}
	return c.Enabled, nil
}

func (u *UI) policiesPage(w http.ResponseWriter, r *http.Request, v *view) error {
	ps, err := u.svc.Policies(r.Context())
	if err != nil {
		return err
	}
	ready, err := u.connectorReady(r)
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Policies", "policies", policiesData{Policies: ps, ConnectorReady: ready}
	u.render(w, r, http.StatusOK, "policies", v)
	return nil
}

// policyID returns the {id} of a policy route: a GUID or "default".
func policyID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if id != passkeyd.DefaultPolicyID && !passkeyd.IsGUID(id) {
		return "", passkeyd.Errorf(passkeyd.ENotFound, `no such policy: the ID must be "default" or a GUID`)
	}
	return id, nil
}

func (u *UI) renderPolicy(w http.ResponseWriter, r *http.Request, v *view, status int, p *passkeyd.Policy, warnings []string) error {
	ready, err := u.connectorReady(r)
	if err != nil {
		return err
	}
	v.Title, v.Nav = "Policy "+p.Name, "policies"
	v.Data = policiesData{Policy: p, Warnings: warnings, ConnectorReady: ready,
		Modes: []passkeyd.PolicyMode{passkeyd.PolicyOff, passkeyd.PolicyOptional, passkeyd.PolicyRequired}}
	u.render(w, r, status, "policy", v)
	return nil
}

func (u *UI) policyPage(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := policyID(r)
	if err != nil {
		return err
	}
	p, err := u.svc.Policy(r.Context(), id)
	if err != nil {
		return err
	}
	return u.renderPolicy(w, r, v, http.StatusOK, p, nil)
}

// savePolicy saves the policy and shows its warnings on the same page:
// they matter most right after the change.
func (u *UI) savePolicy(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := policyID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r, maxFormBytes); err != nil {
		return err
	}
	p, err := policyFromForm(r, id)
	var warnings []string
	if err == nil {
		var saved *passkeyd.Policy
		saved, warnings, err = u.svc.UpdatePolicy(r.Context(), p)
		if err == nil {
			p = *saved
			v.Flash = "Policy saved."
		}
	}
	if err != nil {
		if passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
			return err
		}
		v.Error, v.Fields = passkeyd.ErrorMessage(err), passkeyd.ErrorFields(err)
		return u.renderPolicy(w, r, v, http.StatusBadRequest, &p, nil)
	}
	return u.renderPolicy(w, r, v, http.StatusOK, &p, warnings)
}

// usersData is the Data of the users page.
type usersData struct {
	Query    string
	Users    []passkeyd.User
	Policies []passkeyd.Policy
	// New holds the create form's input after a rejected submission.
	New passkeyd.User
}

func (u *UI) renderUsers(w http.ResponseWriter, r *http.Request, v *view, status int, query string, nu passkeyd.User) error {
	us, err := u.svc.Users(r.Context(), passkeyd.UserFilter{Query: query})
	if err != nil {
		return err
	}
	ps, err := u.svc.Policies(r.Context())
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Users", "users", usersData{Query: query, Users: us, Policies: ps, New: nu}
	u.render(w, r, status, "users", v)
	return nil
}

func (u *UI) usersPage(w http.ResponseWriter, r *http.Request, v *view) error {
	f := &form{r: r}
	q := f.str("q", 256)
	if err := f.err("invalid search"); err != nil {
		return err
	}
	return u.renderUsers(w, r, v, http.StatusOK, q, passkeyd.User{})
}

func (u *UI) createUser(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := parseForm(w, r, maxFormBytes); err != nil {
		return err
	}
	f := &form{r: r}
	nu := passkeyd.User{
		UPN:           f.str("upn", 256),
		DisplayName:   f.str("display_name", 256),
		EntraObjectID: f.id("entra_object_id"),
		PolicyID:      f.str("policy_id", 64),
	}
	if nu.PolicyID != "" && nu.PolicyID != passkeyd.DefaultPolicyID && !passkeyd.IsGUID(nu.PolicyID) {
		f.fe.Add("policy_id", `must be "default" or a policy GUID`)
	}
	err := f.err("invalid user")
	if err == nil {
		err = nu.Validate()
	}
	var created *passkeyd.User
	if err == nil {
		created, err = u.svc.CreateUser(r.Context(), nu)
	}
	if err != nil {
		switch passkeyd.ErrorCodeOf(err) {
		case passkeyd.EInvalid, passkeyd.EConflict:
			v.Error, v.Fields = passkeyd.ErrorMessage(err), passkeyd.ErrorFields(err)
			return u.renderUsers(w, r, v, http.StatusBadRequest, "", nu)
		}
		return err
	}
	http.Redirect(w, r, Prefix+"users/"+created.ID, http.StatusSeeOther)
	return nil
}

func (u *UI) userPage(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := u.svc.UserDetail(r.Context(), id)
	if err != nil {
		return err
	}
	ps, err := u.svc.Policies(r.Context())
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = d.User.UPN, "users", userData{UserDetail: *d, Policies: ps}
	u.render(w, r, http.StatusOK, "user", v)
	return nil
}

// userData is the Data of a user's page: the user with what hangs off it,
// and the policies it can be assigned to.
type userData struct {
	passkeyd.UserDetail
	Policies []passkeyd.Policy
}

// assignPolicy moves a user to another policy.
func (u *UI) assignPolicy(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r, maxFormBytes); err != nil {
		return err
	}
	f := &form{r: r}
	pid := f.str("policy_id", 64)
	if pid != passkeyd.DefaultPolicyID && !passkeyd.IsGUID(pid) {
		f.fe.Add("policy_id", `must be "default" or a policy GUID`)
	}
	if err := f.err("invalid policy"); err != nil {
		return err
	}
	d, err := u.svc.UserDetail(r.Context(), id)
	if err != nil {
		return err
	}
	if _, err := u.svc.UpdateUser(r.Context(), id, passkeyd.UserUpdate{DisplayName: d.User.DisplayName, PolicyID: pid}); err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"users/"+id, http.StatusSeeOther)
	return nil
}

// createPolicy adds a named policy and opens it.
func (u *UI) createPolicy(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := parseForm(w, r, maxFormBytes); err != nil {
		return err
	}
	p, err := policyFromForm(r, "")
	if err != nil {
		return err
	}
	saved, _, err := u.svc.CreatePolicy(r.Context(), p)
	if err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"policies/"+saved.ID, http.StatusSeeOther)
	return nil
}

// invitationData is the Data of the page that shows a new invitation.
type invitationData struct {
	User       *passkeyd.User
	Invitation *passkeyd.Invitation
	Code       string
	// QR is a data: URL of the code as a PNG, empty when encoding failed.
	QR template.URL
}

// Invitation lifetimes offered by the form.
const (
	minInvitationTTL = time.Hour
	maxInvitationTTL = 30 * 24 * time.Hour
)

// invite issues a one-time code and shows it, with its QR code, in this
// response only: it cannot be shown again.
func (u *UI) invite(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r, maxFormBytes); err != nil {
		return err
	}
	f := &form{r: r}
	hours := f.int("ttl_hours", int64(minInvitationTTL/time.Hour), int64(maxInvitationTTL/time.Hour), 24)
	if err := f.err("invalid invitation"); err != nil {
		return err
	}
	d, err := u.svc.UserDetail(r.Context(), id)
	if err != nil {
		return err
	}
	inv, code, err := u.svc.CreateInvitation(r.Context(), id, time.Duration(hours)*time.Hour)
	if err != nil {
		return err
	}
	data := invitationData{User: &d.User, Invitation: inv, Code: code.Reveal()}
	if png, err := qrcode.Encode(code.Reveal(), qrcode.Medium, 256); err != nil {
		// The invitation exists now; failing the page would lose its
		// code. Show the code alone.
		u.log.ErrorContext(r.Context(), "ui: QR encoding failed", "err", err)
	} else {
		// Typed as a URL: html/template would otherwise replace a
		// data: URL with a harmless placeholder.
		data.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	}
	v.Title, v.Nav, v.Data = "Invitation for "+d.User.UPN, "users", data
	u.render(w, r, http.StatusCreated, "invitation", v)
	return nil
}

// offboardData is the Data of the offboarding pages.
type offboardData struct {
	User    *passkeyd.User
	Devices int // active
	Live    int // live passkeys
	Result  *passkeyd.Offboarding
}

func (u *UI) offboardConfirm(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := u.svc.UserDetail(r.Context(), id)
	if err != nil {
		return err
	}
	data := offboardData{User: &d.User}
	for _, p := range d.Passkeys {
		if p.State.Live() {
			data.Live++
		}
	}
	for _, dv := range d.Devices {
		if dv.State == passkeyd.DeviceActive {
			data.Devices++
		}
	}
	v.Title, v.Nav, v.Data = "Offboard "+d.User.UPN, "users", data
	u.render(w, r, http.StatusOK, "offboard", v)
	return nil
}

// offboard cancels the user's unused invitations, removes the user's
// devices (revoking their passkeys) and revokes any other live passkey.
func (u *UI) offboard(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := u.svc.UserDetail(r.Context(), id)
	if err != nil {
		return err
	}
	res, err := u.svc.OffboardUser(r.Context(), id)
	if err != nil {
		return err
	}
	v.Title, v.Nav, v.Data = "Offboard "+d.User.UPN, "users", offboardData{User: &d.User, Result: res}
	v.Flash = d.User.UPN + " offboarded: " + itoa(res.DevicesRemoved) + " device(s) removed, " + itoa(res.PasskeysRevoking) +
		" passkey revocation(s) queued, " + itoa(res.InvitationsCancelled) + " invitation(s) cancelled."
	u.render(w, r, http.StatusOK, "offboard", v)
	return nil
}

// policyFromForm reads and validates the policy fields of a posted form.
func policyFromForm(r *http.Request, id string) (passkeyd.Policy, error) {
	f := &form{r: r}
	p := passkeyd.Policy{
		ID:                 id,
		Name:               f.str("name", 100),
		EntraPasskey:       passkeyd.PolicyMode(f.oneOf("entra_passkey", string(passkeyd.PolicyOff), string(passkeyd.PolicyOptional), string(passkeyd.PolicyRequired))),
		MaxPasskeysPerUser: int(f.int("max_passkeys_per_user", 0, 100, 0)),
	}
	err := f.err("invalid policy")
	if err == nil {
		err = p.Validate()
	}
	return p, err
}
