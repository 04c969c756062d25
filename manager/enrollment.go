package manager

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	passkeyd "github.com/passkeyd/passkeyd"
)

// BeginEnrollment fetches WebAuthn creation options from Graph for the
// device's user and records the enrollment that will receive the
// credential.
func (m *Manager) BeginEnrollment(ctx context.Context, deviceID string) (*passkeyd.EnrollmentOptions, error) {
	d, u, p, err := m.deviceContext(ctx, deviceID)
	if err != nil {
		return nil, err
	}
	if p.EntraPasskey == passkeyd.PolicyOff {
		return nil, passkeyd.Errorf(passkeyd.EConflict, "the policy %q does not offer an Entra passkey", p.Name)
	}
	if p.MaxPasskeysPerUser > 0 {
		pks, err := m.store.Passkeys(ctx, passkeyd.PasskeyFilter{UserID: u.ID, Page: passkeyd.Page{Limit: passkeyd.MaxPageSize}})
		if err != nil {
			return nil, err
		}
		live := 0
		for _, pk := range pks {
			if pk.State.Live() {
				live++
			}
		}
		if live >= p.MaxPasskeysPerUser {
			return nil, passkeyd.Errorf(passkeyd.EConflict, "the user already has %d passkeys, the most the policy allows", live)
		}
	}
	g, c, err := m.graphClient(ctx)
	if err != nil {
		return nil, err
	}
	if !c.Cloud.OffersProvisioning() {
		return nil, passkeyd.Errorf(passkeyd.EConflict, "Microsoft does not offer passkey provisioning (creationOptions) in the %s cloud; only the global cloud supports it", c.Cloud)
	}
	crid := uuid.NewString()
	opts, err := g.CreationOptions(passkeyd.WithClientRequestID(ctx, crid), u.GraphUser(), c.ChallengeTimeoutMinutes)
	if err != nil {
		m.audit(ctx, failure(m.graphEvent(ctx, "enrollment.options_failed", "device", d.ID, crid, nil), graphReason(err)))
		return nil, upstreamError("fetching passkey creation options from Entra", err)
	}
	now := m.now()
	sum := sha256.Sum256(opts.PublicKey)
	e := &passkeyd.Enrollment{
		ID:                 newID(),
		UserID:             u.ID,
		DeviceID:           d.ID,
		State:              passkeyd.EnrollmentOptionsIssued,
		ChallengeExpiresAt: opts.ChallengeTimeout,
		OptionsHash:        sum[:],
		ChallengeDigest:    challengeDigestOf(opts.Challenge),
		RPID:               opts.RPID,
		CreatedAt:          now,
		UpdatedAt:          now,
	}
	if e.ChallengeExpiresAt.IsZero() {
		e.ChallengeExpiresAt = now.Add(time.Duration(c.ChallengeTimeoutMinutes) * time.Minute)
	}
	ev := m.graphEvent(ctx, "enrollment.options_issued", "enrollment", e.ID, crid, map[string]any{"device_id": d.ID, "expires_at": e.ChallengeExpiresAt})
	if err := m.store.CreateEnrollment(ctx, e, ev); err != nil {
		return nil, err
	}
	return &passkeyd.EnrollmentOptions{EnrollmentID: e.ID, PublicKey: opts.PublicKey, ExpiresAt: e.ChallengeExpiresAt}, nil
}

// FinishEnrollment registers the device's attested credential in Entra.
//
// The intent (passkey in state registering) is committed before the Graph
// create, and the outcome after it; if the outcome cannot be known (a
// timeout after the request was sent, a 5xx), the passkey is left in state
// unknown for reconciliation rather than created a second time.
func (m *Manager) FinishEnrollment(ctx context.Context, deviceID, enrollmentID string, cred passkeyd.Credential) (*passkeyd.Passkey, error) {
	d, u, p, err := m.deviceContext(ctx, deviceID)
	if err != nil {
		return nil, err
	}
	e, err := m.store.Enrollment(ctx, enrollmentID)
	if err != nil || e.DeviceID != d.ID {
		return nil, passkeyd.Errorf(passkeyd.ENotFound, "enrollment not found")
	}
	switch e.State {
	case passkeyd.EnrollmentOptionsIssued:
		if e.ChallengeDigest == "" {
			// Issued by a node not yet upgraded (it kept the challenge
			// itself; see migration 0004): nothing to check against.
			return nil, passkeyd.Errorf(passkeyd.EGone, "these options were issued by an earlier version of passkeyd: request new options")
		}
	case passkeyd.EnrollmentCompleted:
		return nil, passkeyd.Errorf(passkeyd.EConflict, "this enrollment is already completed")
	case passkeyd.EnrollmentRegistering:
		return nil, passkeyd.Errorf(passkeyd.EConflict, "this enrollment is being registered")
	default:
		return nil, passkeyd.Errorf(passkeyd.EGone, "this enrollment is %s: request new options", e.State)
	}
	if p.EntraPasskey == passkeyd.PolicyOff {
		return nil, passkeyd.Errorf(passkeyd.EConflict, "the policy %q no longer offers an Entra passkey", p.Name)
	}
	now := m.now()
	if !now.Before(e.ChallengeExpiresAt) {
		exp := *e
		exp.State, exp.Error, exp.UpdatedAt = passkeyd.EnrollmentExpired, "challenge expired", now
		ev := m.event(ctx, "enrollment.expired", "enrollment", e.ID, nil)
		if err := m.store.UpdateEnrollment(ctx, &exp, passkeyd.EnrollmentOptionsIssued, ev); err != nil {
			return nil, err
		}
		return nil, passkeyd.Errorf(passkeyd.EGone, "the enrollment expired at %s: request new options", e.ChallengeExpiresAt.UTC().Format(time.RFC3339))
	}
	att, err := precheckCredential(cred, e.ChallengeDigest, e.RPID)
	if err != nil {
		m.audit(ctx, failure(m.event(ctx, "enrollment.credential_rejected", "enrollment", e.ID, nil), passkeyd.ErrorMessage(err)))
		return nil, err
	}
	c, err := m.connector(ctx)
	if err != nil {
		return nil, err
	}
	pk := &passkeyd.Passkey{
		ID:           newID(),
		UserID:       u.ID,
		DeviceID:     d.ID,
		EnrollmentID: e.ID,
		CredentialID: att.credentialID,
		AAGUID:       att.aaguid,
		DisplayName:  displayName(c.DisplayNameTemplate, d, u),
		State:        passkeyd.PasskeyRegistering,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	reg := *e
	reg.State, reg.PasskeyID, reg.UpdatedAt = passkeyd.EnrollmentRegistering, pk.ID, now
	crid := uuid.NewString()
	ev := m.graphEvent(ctx, "passkey.registration_started", "passkey", pk.ID, crid, map[string]any{"enrollment_id": e.ID, "device_id": d.ID, "aaguid": pk.AAGUID})
	if err := m.store.BeginRegistration(ctx, &reg, pk, ev); err != nil {
		return nil, err
	}

	g, _, err := m.clientFor(c) // the connector read above: one read per request
	var method *passkeyd.Fido2Method
	if err == nil {
		method, err = g.CreateMethod(passkeyd.WithClientRequestID(ctx, crid), u.GraphUser(), passkeyd.CreateMethodRequest{
			DisplayName:            pk.DisplayName,
			CredentialID:           cred.ID,
			ClientDataJSON:         cred.ClientDataJSON,
			AttestationObject:      cred.AttestationObject,
			ClientExtensionResults: cred.ClientExtensionResults,
		})
	}
	// The outcome is recorded even if the device hung up meanwhile.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return m.finishRegistration(wctx, &reg, pk, crid, method, err)
}

// finishRegistration records the outcome of the Graph create.
func (m *Manager) finishRegistration(ctx context.Context, e *passkeyd.Enrollment, pk *passkeyd.Passkey, crid string, method *passkeyd.Fido2Method, callErr error) (*passkeyd.Passkey, error) {
	now := m.now()
	e.UpdatedAt, pk.UpdatedAt = now, now
	var ev passkeyd.AuditEvent
	var result error
	ge := passkeyd.AsGraphError(callErr)
	switch {
	case callErr == nil:
		pk.State = passkeyd.PasskeyActive
		pk.GraphMethodID = method.ID
		pk.AttestationLevel, pk.PasskeyType = method.AttestationLevel, method.PasskeyType
		if method.AAGUID != "" {
			pk.AAGUID = strings.ToLower(method.AAGUID)
		}
		e.State = passkeyd.EnrollmentCompleted
		ev = m.graphEvent(ctx, "passkey.registered", "passkey", pk.ID, crid, map[string]any{"graph_method_id": pk.GraphMethodID, "device_id": pk.DeviceID})
	case ge == nil || outcomeUnknown(ge):
		// Nothing says whether Entra created it: never retry blindly.
		pk.State, pk.LastError = passkeyd.PasskeyUnknown, graphReason(callErr)
		e.State, e.Error = passkeyd.EnrollmentFailed, errOutcomeUnknown
		ev = failure(m.graphEvent(ctx, "passkey.registration_unknown", "passkey", pk.ID, crid, nil), pk.LastError)
		result = upstreamError("registering the passkey in Entra (outcome unknown; passkeyd will reconcile it)", callErr)
	default:
		pk.State, pk.LastError = passkeyd.PasskeyFailed, graphReason(callErr)
		e.State, e.Error = passkeyd.EnrollmentFailed, pk.LastError
		ev = failure(m.graphEvent(ctx, "passkey.registration_failed", "passkey", pk.ID, crid, nil), pk.LastError)
		result = upstreamError("registering the passkey in Entra", callErr)
	}
	var jobs []passkeyd.Job
	if pk.State == passkeyd.PasskeyUnknown {
		jobs = append(jobs, passkeyd.Job{Kind: passkeyd.JobResolvePasskey, PasskeyID: pk.ID})
	}
	err := m.store.FinishRegistration(ctx, e, pk, []passkeyd.AuditEvent{ev}, jobs...)
	m.metrics.ObserveEnrollment(string(pk.State))
	if passkeyd.ErrorCodeOf(err) == passkeyd.EConflict {
		// The device was removed while Entra was registering: the passkey
		// is already revoking. Hand its method ID to the revocation job.
		return nil, m.handOverToRevocation(ctx, e, pk, crid)
	}
	if err != nil {
		return nil, err
	}
	if result != nil {
		return nil, result
	}
	return pk, nil
}

// handOverToRevocation settles a registration whose device was removed
// while Entra was registering: the passkey is already revoking. If Entra
// created the method, its ID is handed to a revocation job; if Entra
// refused, the revocation job finds a failed enrollment and nothing to
// delete. An unknown outcome stays with the enrollment in registering,
// which the revocation job turns into unknown for reconciliation.
func (m *Manager) handOverToRevocation(ctx context.Context, e *passkeyd.Enrollment, pk *passkeyd.Passkey, crid string) error {
	gone := passkeyd.Errorf(passkeyd.EGone, "this device was removed during the enrollment")
	if pk.State == passkeyd.PasskeyUnknown {
		return gone
	}
	e.State, e.Error = passkeyd.EnrollmentFailed, "device removed during the enrollment"
	ev := m.event(ctx, "enrollment.abandoned", "enrollment", e.ID, nil)
	if err := m.store.UpdateEnrollment(ctx, e, passkeyd.EnrollmentRegistering, ev); err != nil {
		return err
	}
	if pk.State != passkeyd.PasskeyActive {
		return gone
	}
	cur, err := m.store.Passkey(ctx, pk.ID)
	if err != nil {
		return err
	}
	if cur.State != passkeyd.PasskeyRevoking {
		return gone
	}
	cur.GraphMethodID, cur.UpdatedAt = pk.GraphMethodID, m.now()
	ev = m.graphEvent(ctx, "passkey.registered", "passkey", pk.ID, crid, map[string]any{"graph_method_id": pk.GraphMethodID, "note": "device removed during registration; revoking"})
	if err := m.store.UpdatePasskey(ctx, cur, passkeyd.PasskeyRevoking, ev, passkeyd.Job{Kind: passkeyd.JobRevokePasskey, PasskeyID: pk.ID}); err != nil {
		return err
	}
	return gone
}

// errOutcomeUnknown is the error of an enrollment whose Graph create may
// or may not have created the method.
const errOutcomeUnknown = "Entra did not confirm the registration"

// outcomeUnknown reports whether a failed create may nevertheless have
// created the method in Entra.
func outcomeUnknown(ge *passkeyd.GraphError) bool {
	switch {
	case ge.Status == 0:
		return ge.Sent
	case ge.Status == http.StatusTooManyRequests:
		return false // throttled requests are not processed
	case ge.Status >= 500:
		return true
	}
	return false
}

// graphEvent is an audit event for a Graph call, carrying its
// client-request-id so that admins can find it in Entra's logs.
func (m *Manager) graphEvent(ctx context.Context, action, targetType, targetID, crid string, details any) passkeyd.AuditEvent {
	ev := m.event(ctx, action, targetType, targetID, details)
	ev.ClientRequestID = crid
	return ev
}

// graphReason is the text of a Graph failure stored on a record.
func graphReason(err error) string {
	ge := passkeyd.AsGraphError(err)
	if ge == nil {
		return passkeyd.ErrorMessage(err)
	}
	s := ""
	if ge.Status != 0 {
		s = fmt.Sprintf("HTTP %d ", ge.Status)
	}
	if ge.Code != "" {
		s += ge.Code + ": "
	}
	if ge.Message != "" {
		s += ge.Message
	} else if ge.Err != nil {
		s += "connection failed"
	}
	if len(s) > 500 {
		s = s[:500]
	}
	return strings.TrimSpace(s)
}

// upstreamError maps a Graph failure to the error shown to the caller.
func upstreamError(what string, err error) error {
	ge := passkeyd.AsGraphError(err)
	if ge == nil {
		var pe *passkeyd.Error
		if errors.As(err, &pe) {
			return err
		}
		return passkeyd.WrapError(passkeyd.EUpstream, err, "%s failed", what)
	}
	switch {
	case ge.Status == http.StatusTooManyRequests:
		return passkeyd.WrapError(passkeyd.ERateLimited, err, "%s: Entra is throttling requests; try again later", what)
	case ge.Status == http.StatusBadRequest:
		return passkeyd.WrapError(passkeyd.EUnprocessable, err, "%s: Entra rejected the request: %s", what, graphReason(err))
	}
	return passkeyd.WrapError(passkeyd.EUpstream, err, "%s failed: %s", what, graphReason(err))
}

// displayName expands the connector's template and cuts the result to the
// 30 characters Graph accepts.
func displayName(tmpl string, d *passkeyd.Device, u *passkeyd.User) string {
	s := strings.NewReplacer("{device}", d.Name, "{model}", d.Model, "{platform}", d.Platform, "{user}", u.UPN).Replace(tmpl)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > passkeyd.MaxDisplayNameLength {
		s = strings.TrimSpace(string(r[:passkeyd.MaxDisplayNameLength]))
	}
	if s == "" {
		s = "passkeyd"
	}
	return s
}
