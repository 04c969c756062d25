package server

import (
	"encoding/base64"
	"net/http"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/api"
	qrcode "github.com/skip2/go-qrcode"
)

// connectorID checks the {id} of a connector route: only the one
// connector of this release exists.
func connectorID(r *http.Request) error {
	if r.PathValue("id") != passkeyd.ConnectorID {
		return passkeyd.Errorf(passkeyd.ENotFound, "no such connector; the only connector is %q", passkeyd.ConnectorID)
	}
	return nil
}

func (s *Server) getConnector(w http.ResponseWriter, r *http.Request) error {
	if err := connectorID(r); err != nil {
		return err
	}
	c, err := s.svc.Connector(r.Context())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, c)
	return nil
}

func (s *Server) putConnector(w http.ResponseWriter, r *http.Request) error {
	if err := connectorID(r); err != nil {
		return err
	}
	var body api.ConnectorUpdate
	if _, err := readJSON(w, r, &body, max(s.maxBody, api.MaxCertificateBodyBytes), false); err != nil {
		return err
	}
	c, err := s.svc.UpdateConnector(r.Context(), body.Domain())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, c)
	return nil
}

func (s *Server) testConnector(w http.ResponseWriter, r *http.Request) error {
	if err := connectorID(r); err != nil {
		return err
	}
	var opts passkeyd.TestOptions
	if _, err := readJSON(w, r, &opts, s.maxBody, true); err != nil {
		return err
	}
	rep, err := s.svc.TestConnection(r.Context(), opts)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, rep)
	return nil
}

// validateCertificate checks an uploaded certificate, or the stored one
// when the body is empty; nothing is saved.
func (s *Server) validateCertificate(w http.ResponseWriter, r *http.Request) error {
	if err := connectorID(r); err != nil {
		return err
	}
	var body api.CertificateUpload
	if _, err := readJSON(w, r, &body, max(s.maxBody, api.MaxCertificateBodyBytes), true); err != nil {
		return err
	}
	rep, err := s.svc.ValidateCertificate(r.Context(), body.Domain())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, rep)
	return nil
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.svc.Policies(r.Context())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, api.List[passkeyd.Policy]{Items: nonNil(ps)})
	return nil
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := policyID(r)
	if err != nil {
		return err
	}
	p, err := s.svc.Policy(r.Context(), id)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, p)
	return nil
}

func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := policyID(r)
	if err != nil {
		return err
	}
	var body api.PolicyUpdate
	if _, err := readJSON(w, r, &body, s.maxBody, false); err != nil {
		return err
	}
	p := passkeyd.Policy{ID: id, Name: body.Name, EntraPasskey: body.EntraPasskey, MaxPasskeysPerUser: body.MaxPasskeysPerUser}
	if err := p.Validate(); err != nil {
		return err
	}
	saved, warnings, err := s.svc.UpdatePolicy(r.Context(), p)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, api.PolicyResult{Policy: *saved, Warnings: warnings})
	return nil
}

// createPolicy adds a named policy: 201 with its generated ID.
func (s *Server) createPolicy(w http.ResponseWriter, r *http.Request) error {
	var body api.PolicyUpdate
	if _, err := readJSON(w, r, &body, s.maxBody, false); err != nil {
		return err
	}
	p := passkeyd.Policy{Name: body.Name, EntraPasskey: body.EntraPasskey, MaxPasskeysPerUser: body.MaxPasskeysPerUser}
	if err := p.Validate(); err != nil {
		return err
	}
	saved, warnings, err := s.svc.CreatePolicy(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Location", api.Prefix+"/policies/"+saved.ID)
	s.writeJSON(w, r, http.StatusCreated, api.PolicyResult{Policy: *saved, Warnings: warnings})
	return nil
}

// updateUser changes a user's display name and policy.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var body passkeyd.UserUpdate
	if _, err := readJSON(w, r, &body, s.maxBody, false); err != nil {
		return err
	}
	if body.PolicyID != "" && body.PolicyID != passkeyd.DefaultPolicyID && !passkeyd.IsGUID(body.PolicyID) {
		return fieldErr("policy_id", `must be "default" or a policy GUID`)
	}
	u, err := s.svc.UpdateUser(r.Context(), id, body)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, u)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "query", "cursor", "limit")
	if err != nil {
		return err
	}
	f := passkeyd.UserFilter{Query: q.str("query", 256), Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	us, err := s.svc.Users(r.Context(), f)
	if err != nil {
		return err
	}
	next := nextCursor(us, f.Page, func(u passkeyd.User) string { return u.ID })
	s.writeJSON(w, r, http.StatusOK, api.List[passkeyd.User]{Items: nonNil(us), NextCursor: next})
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var body api.CreateUser
	if _, err := readJSON(w, r, &body, s.maxBody, false); err != nil {
		return err
	}
	u := passkeyd.User{UPN: body.UPN, EntraObjectID: body.EntraObjectID, DisplayName: body.DisplayName, PolicyID: body.PolicyID}
	if err := u.Validate(); err != nil {
		return err
	}
	if u.PolicyID != "" && u.PolicyID != passkeyd.DefaultPolicyID && !passkeyd.IsGUID(u.PolicyID) {
		var fe passkeyd.FieldErrors
		fe.Add("policy_id", `must be "default" or a policy GUID`)
		return fe.Err("invalid user")
	}
	created, err := s.svc.CreateUser(r.Context(), u)
	if err != nil {
		return err
	}
	w.Header().Set("Location", api.Prefix+"/users/"+created.ID)
	s.writeJSON(w, r, http.StatusCreated, created)
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.svc.UserDetail(r.Context(), id)
	if err != nil {
		return err
	}
	d.Devices, d.Passkeys = nonNil(d.Devices), nonNil(d.Passkeys)
	s.writeJSON(w, r, http.StatusOK, d)
	return nil
}

// createInvitation issues a one-time code; the code (and its QR image) is
// in this response only.
func (s *Server) createInvitation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q, err := parseQuery(r, "qr")
	if err != nil {
		return err
	}
	withQR := q.bool("qr")
	if err := q.err(); err != nil {
		return err
	}
	var body api.CreateInvitation
	if _, err := readJSON(w, r, &body, s.maxBody, true); err != nil {
		return err
	}
	ttl := api.DefaultInvitationTTL
	if body.TTLSeconds != 0 {
		ttl = time.Duration(body.TTLSeconds) * time.Second
		if body.TTLSeconds < int64(api.MinInvitationTTL/time.Second) || body.TTLSeconds > int64(api.MaxInvitationTTL/time.Second) {
			var fe passkeyd.FieldErrors
			fe.Add("ttl_seconds", "must be from 60 (one minute) to 2592000 (30 days)")
			return fe.Err("invalid invitation")
		}
	}
	inv, code, err := s.svc.CreateInvitation(r.Context(), id, ttl)
	if err != nil {
		return err
	}
	resp := api.InvitationCreated{Invitation: *inv, Code: code.Reveal()}
	if withQR {
		png, err := qrcode.Encode(code.Reveal(), qrcode.Medium, 256)
		if err != nil {
			// The invitation exists now; failing the call would lose
			// its code. Say so in the log and send the code alone.
			s.log.ErrorContext(r.Context(), "QR encoding failed", "request_id", passkeyd.RequestIDFrom(r.Context()), "err", err)
		} else {
			resp.QRPNGBase64 = base64.StdEncoding.EncodeToString(png)
		}
	}
	s.writeJSON(w, r, http.StatusCreated, resp)
	return nil
}

// nonNil makes empty lists [] rather than null on the wire.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
