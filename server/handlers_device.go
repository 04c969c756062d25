package server

import (
	"bytes"
	"net/http"
	"strconv"

	passkeyd "github.com/passkeyd/passkeyd"
	"github.com/passkeyd/passkeyd/server/api"
)

// Bounds of the device API's inputs, in characters of their wire form.
const (
	maxCodeLength              = 128
	maxCredentialIDLength      = 1366 // base64url of 1023 bytes, WebAuthn's limit
	maxClientDataJSONLength    = 64 << 10
	maxAttestationObjectLength = api.MaxCredentialBodyBytes
)

// registerDevice consumes an invitation code; it is the one device route
// without a device token (the code is the credential).
func (s *Server) registerDevice(w http.ResponseWriter, r *http.Request) error {
	var body api.RegisterDevice
	if _, err := readJSON(w, r, &body, s.maxBody, false); err != nil {
		return err
	}
	var fe passkeyd.FieldErrors
	if body.Code == "" || len(body.Code) > maxCodeLength || !passkeyd.Printable(body.Code) {
		fe.Add("code", "must be the invitation code: 1 to 128 printable characters")
	}
	d := passkeyd.Device{Name: body.Name, Platform: body.Platform, Model: body.Model}
	fe = append(fe, passkeyd.ErrorFields(d.Validate())...)
	if err := fe.Err("invalid device registration"); err != nil {
		return err
	}
	info := passkeyd.DeviceInfo{Name: body.Name, Platform: body.Platform, Model: body.Model}
	dev, tok, err := s.svc.RegisterDevice(r.Context(), passkeyd.Secret(body.Code), info)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, api.DeviceRegistered{DeviceID: dev.ID, DeviceToken: tok.Reveal(), Device: *dev})
	return nil
}

func (s *Server) deviceStatus(w http.ResponseWriter, r *http.Request, d *passkeyd.Device) error {
	st, err := s.svc.DeviceStatus(r.Context(), d.ID)
	if err != nil {
		return err
	}
	st.Passkeys = nonNil(st.Passkeys)
	s.writeJSON(w, r, http.StatusOK, st)
	return nil
}

// beginEnrollment takes no body: everything it needs is the device.
func (s *Server) beginEnrollment(w http.ResponseWriter, r *http.Request, d *passkeyd.Device) error {
	opts, err := s.svc.BeginEnrollment(r.Context(), d.ID)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, opts)
	return nil
}

func (s *Server) finishEnrollment(w http.ResponseWriter, r *http.Request, d *passkeyd.Device) error {
	var body api.CompleteEnrollment
	if _, err := readJSON(w, r, &body, max(s.maxBody, api.MaxCredentialBodyBytes), false); err != nil {
		return err
	}
	if err := validateEnrollment(body); err != nil {
		return err
	}
	p, err := s.svc.FinishEnrollment(r.Context(), d.ID, body.EnrollmentID, body.Credential)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, p)
	return nil
}

// validateEnrollment checks the shape of an attested credential; the
// service verifies its content.
func validateEnrollment(b api.CompleteEnrollment) error {
	var fe passkeyd.FieldErrors
	if !passkeyd.IsGUID(b.EnrollmentID) {
		fe.Add("enrollment_id", "must be the enrollment_id of the options, a GUID")
	}
	c := b.Credential
	checkB64 := func(field, v string, max int) {
		if v == "" || len(v) > max || !isBase64URL(v) {
			fe.Add(field, "must be 1 to "+strconv.Itoa(max)+" characters of unpadded base64url")
		}
	}
	checkB64("credential.id", c.ID, maxCredentialIDLength)
	checkB64("credential.client_data_json", c.ClientDataJSON, maxClientDataJSONLength)
	checkB64("credential.attestation_object", c.AttestationObject, maxAttestationObjectLength)
	if ext := bytes.TrimSpace(c.ClientExtensionResults); len(ext) > 0 && ext[0] != '{' && !bytes.Equal(ext, []byte("null")) {
		fe.Add("credential.client_extension_results", "must be a JSON object")
	}
	return fe.Err("invalid credential")
}

// isBase64URL reports whether s uses only the unpadded base64url alphabet.
// (Attestation objects run to kilobytes: a table lookup per byte.)
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		if !base64URLAlphabet[s[i]] {
			return false
		}
	}
	return true
}

var base64URLAlphabet = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[c] = true
	}
	return t
}()

func (s *Server) skipEnrollment(w http.ResponseWriter, r *http.Request, d *passkeyd.Device) error {
	if err := s.svc.SkipEnrollment(r.Context(), d.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// unregisterDevice removes the calling device; like the admin route it
// answers 202 because revocation in Entra is queued.
func (s *Server) unregisterDevice(w http.ResponseWriter, r *http.Request, d *passkeyd.Device) error {
	dev, pks, err := s.svc.RemoveDevice(r.Context(), d.ID)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, api.DeviceRemoval{Device: *dev, Passkeys: nonNil(pks)})
	return nil
}
