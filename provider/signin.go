package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/passkeyd/passkeyd/authenticator"
)

// SignInResult is the emulator's answer to a verified sign-in.
type SignInResult struct {
	UserID    string `json:"user_id"`
	UPN       string `json:"upn"`
	MethodID  string `json:"method_id"`
	SignCount uint32 `json:"sign_count"`
}

// SignIn signs in as user at the emulator's passkey sign-in endpoint
// (docs/emulator.md), proving that the passkey registered in Entra works.
// It is an emulator API: real Entra sign-in goes through a browser or the
// platform's passkey APIs.
func (p *Provider) SignIn(ctx context.Context, emulatorURL, tenant, user string) (*SignInResult, error) {
	base := emulatorURL + "/" + url.PathEscape(tenant) + "/passkey/signin/"
	var begin struct {
		Challenge        string `json:"challenge"`
		RPID             string `json:"rpId"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	}
	if err := p.postJSON(ctx, base+"begin", map[string]string{"user": user}, &begin); err != nil {
		return nil, fmt.Errorf("sign-in begin: %w", err)
	}
	var allow [][]byte
	for _, c := range begin.AllowCredentials {
		id, err := authenticator.DecodeID(c.ID)
		if err != nil {
			return nil, fmt.Errorf("sign-in begin: bad credential ID: %w", err)
		}
		allow = append(allow, id)
	}
	as, err := p.auth.GetAssertion(begin.RPID, begin.Challenge, allow)
	if err != nil {
		return nil, err
	}
	if err := p.auth.Save(); err != nil { // the sign counter moved
		return nil, err
	}
	var res SignInResult
	err = p.postJSON(ctx, base+"finish", map[string]string{
		"id":                authenticator.EncodeID(as.CredentialID),
		"clientDataJSON":    authenticator.EncodeID(as.ClientDataJSON),
		"authenticatorData": authenticator.EncodeID(as.AuthenticatorData),
		"signature":         authenticator.EncodeID(as.Signature),
		"userHandle":        authenticator.EncodeID(as.UserHandle),
	}, &res)
	if err != nil {
		return nil, fmt.Errorf("sign-in finish: %w", err)
	}
	return &res, nil
}

func (p *Provider) postJSON(ctx context.Context, u string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(b, &e)
		return fmt.Errorf("HTTP %d %s: %s", resp.StatusCode, e.Error, e.Description)
	}
	return json.Unmarshal(b, out)
}
