package ui

import (
	"net/http"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// connectorData is the Data of the connector page. Form holds what the
// fields show: the stored settings, or the admin's rejected input.
type connectorData struct {
	Connector *passkeyd.Connector
	Form      connectorForm
	Report    *passkeyd.ConnectionReport
	Cert      *passkeyd.CertificateReport
	TestUser  string
	Clouds    []passkeyd.Cloud
	// SecretExpiry warns when the client secret expires within 30 days.
	SecretExpiry string
}

// connectorForm is the editable part of the connector. It never holds a
// secret: secret fields are always rendered empty.
type connectorForm struct {
	Enabled                 bool
	HTTPDebug               bool
	Cloud                   passkeyd.Cloud
	AuthorityHost           string
	GraphURL                string
	CACertPEM               string
	TenantID                string
	ClientID                string
	ChallengeTimeoutMinutes int
	DisplayNameTemplate     string
	CredentialType          passkeyd.CredentialType
	AssertionFormat         string
	SecretExpiresAt         *time.Time
}

func formOf(c *passkeyd.Connector) connectorForm {
	return connectorForm{
		Enabled: c.Enabled, HTTPDebug: c.HTTPDebug, Cloud: c.Cloud, AuthorityHost: c.AuthorityHost,
		GraphURL: c.GraphURL, CACertPEM: c.CACertPEM, TenantID: c.TenantID, ClientID: c.ClientID,
		ChallengeTimeoutMinutes: c.ChallengeTimeoutMinutes, DisplayNameTemplate: c.DisplayNameTemplate,
		CredentialType: c.CredentialType, AssertionFormat: c.AssertionFormat, SecretExpiresAt: c.ClientSecretExpiresAt,
	}
}

// expiryWarning says when t is past or within 30 days of now.
func expiryWarning(now time.Time, t *time.Time, what string) string {
	switch {
	case t == nil || t.IsZero():
		return ""
	case !now.Before(*t):
		return "The " + what + " expired on " + t.UTC().Format("2006-01-02") + "."
	case t.Sub(now) < 30*24*time.Hour:
		return "The " + what + " expires on " + t.UTC().Format("2006-01-02") + "."
	}
	return ""
}

// connectorView loads the connector into d and renders the page.
func (u *UI) renderConnector(w http.ResponseWriter, r *http.Request, v *view, status int, d *connectorData) error {
	c, err := u.svc.Connector(r.Context())
	if err != nil {
		return err
	}
	d.Connector = c
	if d.Form == (connectorForm{}) {
		d.Form = formOf(c)
	}
	d.Clouds = []passkeyd.Cloud{passkeyd.CloudGlobal, passkeyd.CloudUSGov, passkeyd.CloudUSGovDoD, passkeyd.CloudChina, passkeyd.CloudCustom}
	d.SecretExpiry = expiryWarning(u.now(), c.ClientSecretExpiresAt, "client secret")
	v.Title, v.Nav, v.Data = "Connector", "connector", d
	u.render(w, r, status, "connector", v)
	return nil
}

func (u *UI) connectorPage(w http.ResponseWriter, r *http.Request, v *view) error {
	if r.URL.Query().Get("saved") != "" {
		v.Flash = "Connector settings saved."
	}
	return u.renderConnector(w, r, v, http.StatusOK, &connectorData{})
}

// certificateUpload reads the certificate fields of the connector form;
// nil when none was given.
func certificateUpload(f *form) *passkeyd.CertificateUpload {
	up := passkeyd.CertificateUpload{
		CertificatePEM: string(f.file("certificate_pem")),
		PrivateKeyPEM:  passkeyd.Secret(f.file("private_key_pem")),
		PKCS12:         f.file("pkcs12"),
		Password:       passkeyd.Secret(f.r.FormValue("pkcs12_password")),
	}
	if len(up.Password) > maxPasswordLength {
		f.fe.Add("pkcs12_password", "must be at most 1024 bytes")
	}
	if up.CertificatePEM == "" && up.PrivateKeyPEM == "" && len(up.PKCS12) == 0 {
		return nil
	}
	return &up
}

func (u *UI) saveConnector(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := parseMultipart(w, r, maxMultipartBytes); err != nil {
		return err
	}
	f := &form{r: r}
	upd := passkeyd.ConnectorUpdate{
		Enabled:                 f.checked("enabled"),
		HTTPDebug:               f.checked("http_debug"),
		Cloud:                   passkeyd.Cloud(f.str("cloud", 32)),
		AuthorityHost:           f.str("authority_host", 2048),
		GraphURL:                f.str("graph_url", 2048),
		CACertPEM:               f.text("ca_cert_pem", 64<<10),
		TenantID:                f.str("tenant_id", 256),
		ClientID:                f.str("client_id", 64),
		ChallengeTimeoutMinutes: int(f.int("challenge_timeout_minutes", passkeyd.DefaultChallengeTimeoutMinutes, passkeyd.MaxChallengeTimeoutMinutes, passkeyd.DefaultChallengeTimeoutMinutes)),
		DisplayNameTemplate:     f.str("display_name_template", 100),
		CredentialType:          passkeyd.CredentialType(f.oneOf("credential_type", string(passkeyd.CredentialSecret), string(passkeyd.CredentialCertificate))),
		AssertionFormat:         f.oneOf("assertion_format", passkeyd.AssertionPS256, passkeyd.AssertionRS256),
	}
	if s := r.FormValue("client_secret"); s != "" {
		if len(s) > maxPasswordLength {
			f.fe.Add("client_secret", "must be at most 1024 bytes")
		} else {
			sec := passkeyd.Secret(s)
			upd.ClientSecret = &sec
		}
	}
	if upd.ClientSecret == nil && f.checked("remove_client_secret") {
		none := passkeyd.Secret("")
		upd.ClientSecret = &none
	}
	if s := f.str("client_secret_expires_at", 10); s != "" {
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			f.fe.Add("client_secret_expires_at", "must be a date (YYYY-MM-DD)")
		} else {
			upd.ClientSecretExpiresAt = &t
		}
	}
	upd.ClientCertificate = certificateUpload(f)
	if upd.ClientCertificate == nil && f.checked("remove_certificate") {
		upd.ClientCertificate = &passkeyd.CertificateUpload{}
	}
	err := f.err("invalid connector settings")
	if err == nil {
		_, err = u.svc.UpdateConnector(r.Context(), upd)
	}
	if err != nil {
		if passkeyd.ErrorCodeOf(err) != passkeyd.EInvalid {
			return err
		}
		// Show the form again with the admin's input (never secrets)
		// and every problem next to its field.
		v.Error, v.Fields = passkeyd.ErrorMessage(err), passkeyd.ErrorFields(err)
		fm := connectorForm{
			Enabled: upd.Enabled, HTTPDebug: upd.HTTPDebug, Cloud: upd.Cloud, AuthorityHost: upd.AuthorityHost,
			GraphURL: upd.GraphURL, CACertPEM: upd.CACertPEM, TenantID: upd.TenantID, ClientID: upd.ClientID,
			ChallengeTimeoutMinutes: upd.ChallengeTimeoutMinutes, DisplayNameTemplate: upd.DisplayNameTemplate,
			CredentialType: upd.CredentialType, AssertionFormat: upd.AssertionFormat, SecretExpiresAt: upd.ClientSecretExpiresAt,
		}
		return u.renderConnector(w, r, v, http.StatusBadRequest, &connectorData{Form: fm})
	}
	http.Redirect(w, r, Prefix+"connector?saved=1", http.StatusSeeOther)
	return nil
}

// validateCertificate checks the uploaded certificate, or the stored one
// when nothing was uploaded; nothing is saved.
func (u *UI) validateCertificate(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := parseMultipart(w, r, maxMultipartBytes); err != nil {
		return err
	}
	f := &form{r: r}
	up := certificateUpload(f)
	if err := f.err("invalid certificate upload"); err != nil {
		return err
	}
	if up == nil {
		up = &passkeyd.CertificateUpload{}
	}
	rep, err := u.svc.ValidateCertificate(r.Context(), *up)
	if err != nil {
		return err
	}
	return u.renderConnector(w, r, v, http.StatusOK, &connectorData{Cert: rep})
}

// testConnection runs Test Connection, with an optional dry run of
// enrollment for a user.
func (u *UI) testConnection(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := parseForm(w, r, maxFormBytes); err != nil {
		return err
	}
	f := &form{r: r}
	user := f.str("user", 256)
	if user != "" && !passkeyd.ValidUPN(user) && !passkeyd.IsGUID(user) {
		f.fe.Add("user", "must be a user principal name or an object ID")
	}
	if err := f.err("invalid test options"); err != nil {
		return err
	}
	rep, err := u.svc.TestConnection(r.Context(), passkeyd.TestOptions{User: user})
	if err != nil {
		return err
	}
	return u.renderConnector(w, r, v, http.StatusOK, &connectorData{Report: rep, TestUser: user})
}
