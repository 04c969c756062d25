package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/audit"
	"github.com/passkeyd/passkeyd/server/api"
)

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "user_id", "state", "cursor", "limit")
	if err != nil {
		return err
	}
	f := passkeyd.DeviceFilter{
		UserID: q.id("user_id"),
		State:  passkeyd.DeviceState(q.oneOf("state", string(passkeyd.DeviceActive), string(passkeyd.DeviceRemoved))),
		Page:   q.page(),
	}
	if err := q.err(); err != nil {
		return err
	}
	ds, err := s.svc.Devices(r.Context(), f)
	if err != nil {
		return err
	}
	next := nextCursor(ds, f.Page, func(d passkeyd.Device) string { return d.ID })
	s.writeJSON(w, r, http.StatusOK, api.List[passkeyd.Device]{Items: nonNil(ds), NextCursor: next})
	return nil
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.svc.Device(r.Context(), id)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, d)
	return nil
}

// removeDevice answers 202: the passkeys' revocation in Entra is queued,
// not done.
func (s *Server) removeDevice(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, pks, err := s.svc.RemoveDevice(r.Context(), id)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, api.DeviceRemoval{Device: *d, Passkeys: nonNil(pks)})
	return nil
}

// passkeyStates are the values of the state filter of GET /passkeys.
func passkeyStates() []string {
	return []string{
		string(passkeyd.PasskeyRegistering), string(passkeyd.PasskeyActive), string(passkeyd.PasskeyUnknown),
		string(passkeyd.PasskeyFailed), string(passkeyd.PasskeyRevoking), string(passkeyd.PasskeyRevoked),
		string(passkeyd.PasskeyRevokeFailed), string(passkeyd.PasskeyMissing),
	}
}

func (s *Server) listPasskeys(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "user_id", "device_id", "state", "aaguid", "cursor", "limit")
	if err != nil {
		return err
	}
	f := passkeyd.PasskeyFilter{
		UserID:   q.id("user_id"),
		DeviceID: q.id("device_id"),
		State:    passkeyd.PasskeyState(q.oneOf("state", passkeyStates()...)),
		AAGUID:   strings.ToLower(q.id("aaguid")),
		Page:     q.page(),
	}
	if err := q.err(); err != nil {
		return err
	}
	pks, err := s.svc.Passkeys(r.Context(), f)
	if err != nil {
		return err
	}
	next := nextCursor(pks, f.Page, func(p passkeyd.Passkey) string { return p.ID })
	s.writeJSON(w, r, http.StatusOK, api.List[passkeyd.Passkey]{Items: nonNil(pks), NextCursor: next})
	return nil
}

func (s *Server) getPasskey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := s.svc.Passkey(r.Context(), id)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, p)
	return nil
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "after_seq", "action", "target_type", "target_id", "limit")
	if err != nil {
		return err
	}
	f := passkeyd.AuditFilter{
		AfterSeq:   q.int("after_seq", 0, 1<<62, 0),
		Action:     q.str("action", 100),
		TargetType: q.str("target_type", 100),
		TargetID:   q.str("target_id", 200),
		Limit:      int(q.int("limit", 1, passkeyd.MaxPageSize, 0)),
	}
	if err := q.err(); err != nil {
		return err
	}
	evs, err := s.svc.AuditEvents(r.Context(), f)
	if err != nil {
		return err
	}
	var next int64
	limit := f.Limit
	if limit == 0 {
		limit = passkeyd.DefaultPageSize
	}
	if len(evs) > 0 && len(evs) >= limit {
		next = evs[len(evs)-1].Seq
	}
	s.writeJSON(w, r, http.StatusOK, api.AuditList{Items: nonNil(evs), NextAfterSeq: next})
	return nil
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.svc.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, rep)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.svc.APITokens(r.Context())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, api.List[passkeyd.APIToken]{Items: nonNil(ts)})
	return nil
}

// createToken answers the new token's secret, in this response only.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var body api.CreateToken
	if _, err := readJSON(w, r, &body, s.maxBody, false); err != nil {
		return err
	}
	var fe passkeyd.FieldErrors
	if body.Name == "" || len([]rune(body.Name)) > 100 || !passkeyd.Printable(body.Name) {
		fe.Add("name", "must be 1 to 100 printable characters")
	}
	if !body.Role.Valid() {
		fe.Add("role", `must be "admin", "operator" or "auditor"`)
	}
	if body.TTLSeconds < 0 || body.TTLSeconds > int64(api.MaxTokenTTL/time.Second) {
		fe.Add("ttl_seconds", "must be from 0 (no expiry) to "+strconv.FormatInt(int64(api.MaxTokenTTL/time.Second), 10)+" (5 years)")
	}
	if err := fe.Err("invalid token"); err != nil {
		return err
	}
	t, secret, err := s.svc.CreateAPIToken(r.Context(), body.Name, body.Role, time.Duration(body.TTLSeconds)*time.Second)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, api.TokenCreated{Token: *t, Secret: secret.Reveal()})
	return nil
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.svc.DeleteAPIToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokePasskey queues the revocation of one passkey (or retries a failed
// one): 202, the work is the job queue's.
func (s *Server) revokePasskey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	pk, err := s.svc.RequestRevocation(r.Context(), id)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, pk)
	return nil
}

// offboardUser cancels the user's unused invitations, removes the user's
// devices and queues the revocation of every live passkey of the user;
// the revocations finish in the background, hence 202.
func (s *Server) offboardUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	res, err := s.svc.OffboardUser(r.Context(), id)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, res)
	return nil
}

// revokePasskeys queues the revocation of every live passkey of a user,
// device or AAGUID; progress is GET /passkeys with the same filter.
func (s *Server) revokePasskeys(w http.ResponseWriter, r *http.Request) error {
	var body api.BulkRevoke
	if _, err := readJSON(w, r, &body, s.maxBody, false); err != nil {
		return err
	}
	var fe passkeyd.FieldErrors
	// A slice, not a map: the field errors come out in a stable order.
	for _, f := range []struct{ name, v string }{{"user_id", body.UserID}, {"device_id", body.DeviceID}, {"aaguid", body.AAGUID}} {
		if f.v != "" && !passkeyd.IsGUID(f.v) {
			fe.Add(f.name, "must be a GUID")
		}
	}
	if body.UserID == "" && body.DeviceID == "" && body.AAGUID == "" {
		fe.Add("user_id", "name a user_id, device_id or aaguid")
	}
	if err := fe.Err("invalid bulk revocation"); err != nil {
		return err
	}
	res, err := s.svc.RevokePasskeys(r.Context(), passkeyd.PasskeyFilter{UserID: body.UserID, DeviceID: body.DeviceID, AAGUID: strings.ToLower(body.AAGUID)})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, res)
	return nil
}

// reconcile compares the inventory with Entra and answers the drift report.
func (s *Server) reconcile(w http.ResponseWriter, r *http.Request) error {
	var body api.Reconcile
	if _, err := readJSON(w, r, &body, s.maxBody, true); err != nil {
		return err
	}
	if body.UserID != "" && !passkeyd.IsGUID(body.UserID) {
		var fe passkeyd.FieldErrors
		fe.Add("user_id", "must be a GUID")
		return fe.Err("invalid reconciliation")
	}
	rep, err := s.svc.Reconcile(r.Context(), body.UserID)
	if err != nil {
		return err
	}
	rep.Missing, rep.Adopted, rep.Unmanaged = nonNil(rep.Missing), nonNil(rep.Adopted), nonNil(rep.Unmanaged)
	s.writeJSON(w, r, http.StatusOK, rep)
	return nil
}

// exportAudit streams the audit log after after_seq as JSON lines, for
// SIEMs; a broken connection simply ends the stream (resume from the last
// seq received).
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "after_seq")
	if err != nil {
		return err
	}
	after := q.int("after_seq", 0, 1<<62, 0)
	if err := q.err(); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	if _, err := audit.Export(r.Context(), w, after, audit.PagesOf(s.svc)); err != nil {
		s.log.WarnContext(r.Context(), "audit export ended early", "err", err)
	}
	return nil
}

// metrics serves Prometheus metrics.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	if s.metricsHandler == nil {
		return passkeyd.Errorf(passkeyd.ENotFound, "metrics are not enabled on this server")
	}
	s.metricsHandler.ServeHTTP(w, r)
	return nil
}
