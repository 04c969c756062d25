package ui

import (
	"net/http"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// auditPageSize is how many events the audit page shows at once.
const auditPageSize = 100

// auditData is the Data of the audit page.
type auditData struct {
	Filter passkeyd.AuditFilter
	Events []passkeyd.AuditEvent
	// NextAfterSeq, when set, is the after_seq of the next page.
	NextAfterSeq int64
	Verify       *passkeyd.AuditReport
}

func (u *UI) renderAudit(w http.ResponseWriter, r *http.Request, v *view, rep *passkeyd.AuditReport) error {
	f := &form{r: r}
	flt := passkeyd.AuditFilter{
		AfterSeq:   f.int("after_seq", 0, 1<<62, 0),
		Action:     f.str("action", 100),
		TargetType: f.str("target_type", 100),
		TargetID:   f.str("target_id", 200),
		Limit:      auditPageSize,
	}
	if err := f.err("invalid filter"); err != nil {
		return err
	}
	evs, err := u.svc.AuditEvents(r.Context(), flt)
	if err != nil {
		return err
	}
	d := auditData{Filter: flt, Events: evs, Verify: rep}
	if len(evs) >= auditPageSize {
		d.NextAfterSeq = evs[len(evs)-1].Seq
	}
	v.Title, v.Nav, v.Data = "Audit log", "audit", d
	u.render(w, r, http.StatusOK, "audit", v)
	return nil
}

func (u *UI) auditPage(w http.ResponseWriter, r *http.Request, v *view) error {
	return u.renderAudit(w, r, v, nil)
}

// verifyAudit checks the hash chain: a read, so a GET.
func (u *UI) verifyAudit(w http.ResponseWriter, r *http.Request, v *view) error {
	rep, err := u.svc.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	return u.renderAudit(w, r, v, rep)
}

// tokensData is the Data of the API tokens page.
type tokensData struct {
	Tokens []passkeyd.APIToken
	Roles  []passkeyd.Role
	// Created and Secret are the token just created, shown once.
	Created *passkeyd.APIToken
	Secret  string
}

// maxTokenTTLDays bounds an API token's lifetime (five years).
const maxTokenTTLDays = 5 * 365

func (u *UI) renderTokens(w http.ResponseWriter, r *http.Request, v *view, status int, d tokensData) error {
	ts, err := u.svc.APITokens(r.Context())
	if err != nil {
		return err
	}
	d.Tokens = ts
	d.Roles = []passkeyd.Role{passkeyd.RoleAdmin, passkeyd.RoleOperator, passkeyd.RoleAuditor}
	v.Title, v.Nav, v.Data = "API tokens", "tokens", d
	u.render(w, r, status, "tokens", v)
	return nil
}

func (u *UI) tokensPage(w http.ResponseWriter, r *http.Request, v *view) error {
	if r.URL.Query().Get("revoked") != "" {
		v.Flash = "Token revoked."
	}
	return u.renderTokens(w, r, v, http.StatusOK, tokensData{})
}

// createToken creates an API token and shows its value in this response
// only.
func (u *UI) createToken(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := parseForm(w, r, maxFormBytes); err != nil {
		return err
	}
	f := &form{r: r}
	name := f.str("name", 100)
	if name == "" {
		f.fe.Add("name", "must be 1 to 100 printable characters")
	}
	role := passkeyd.Role(f.oneOf("role", string(passkeyd.RoleAdmin), string(passkeyd.RoleOperator), string(passkeyd.RoleAuditor)))
	if role == "" {
		f.fe.Add("role", "choose a role")
	}
	days := f.int("ttl_days", 0, maxTokenTTLDays, 90)
	if err := f.err("invalid token"); err != nil {
		v.Error, v.Fields = passkeyd.ErrorMessage(err), passkeyd.ErrorFields(err)
		return u.renderTokens(w, r, v, http.StatusBadRequest, tokensData{})
	}
	t, secret, err := u.svc.CreateAPIToken(r.Context(), name, role, time.Duration(days)*24*time.Hour)
	if err != nil {
		return err
	}
	return u.renderTokens(w, r, v, http.StatusCreated, tokensData{Created: t, Secret: secret.Reveal()})
}

func (u *UI) deleteToken(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := u.svc.DeleteAPIToken(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"tokens?revoked=1", http.StatusSeeOther)
	return nil
}
