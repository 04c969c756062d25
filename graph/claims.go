package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// maxTokenLength bounds a token given to DecodeTokenClaims; Entra access
// tokens are a few KB even with many roles.
const maxTokenLength = 32 << 10

// Claims are the claims of an app-only access token that Test Connection
// shows an admin. They are decoded, not verified: they describe what Entra
// issued to us, nothing is authorised on them.
type Claims struct {
	TenantID  string    // tid
	AppID     string    // appid (v1 tokens) or azp (v2 tokens)
	Audience  []string  // aud: the Graph host the token is for
	Roles     []string  // application permissions granted; empty when admin consent is missing
	ExpiresAt time.Time // exp
	Issuer    string    // iss
}

// HasRole reports whether role is among the granted roles.
func (c Claims) HasRole(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// DecodeTokenClaims decodes the payload of a JWT access token without
// verifying it.
func DecodeTokenClaims(token string) (Claims, error) {
	if len(token) > maxTokenLength {
		return Claims{}, fmt.Errorf("token claims: token longer than %d bytes", maxTokenLength)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, errors.New("token claims: not a JWT (want three dot-separated parts)")
	}
	payload, err := DecodeBase64Tolerant(parts[1])
	if err != nil {
		return Claims{}, fmt.Errorf("token claims: payload: %w", err)
	}
	var raw struct {
		TID   string          `json:"tid"`
		AppID string          `json:"appid"`
		AZP   string          `json:"azp"`
		Aud   json.RawMessage `json:"aud"`
		Roles []string        `json:"roles"`
		Exp   json.Number     `json:"exp"`
		Iss   string          `json:"iss"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return Claims{}, fmt.Errorf("token claims: payload is not a JSON object of the expected claims: %w", err)
	}
	c := Claims{TenantID: raw.TID, AppID: raw.AppID, Roles: raw.Roles, Issuer: raw.Iss}
	if c.AppID == "" {
		c.AppID = raw.AZP
	}
	// aud is a string or an array of strings (RFC 7519 §4.1.3).
	if len(raw.Aud) > 0 {
		var one string
		if json.Unmarshal(raw.Aud, &one) == nil {
			c.Audience = []string{one}
		} else if json.Unmarshal(raw.Aud, &c.Audience) != nil {
			return Claims{}, errors.New("token claims: aud is neither a string nor a list of strings")
		}
	}
	if raw.Exp != "" {
		f, err := raw.Exp.Float64()
		if err != nil || f < 0 || f > 1e11 {
			return Claims{}, errors.New("token claims: exp is not a valid time")
		}
		c.ExpiresAt = time.Unix(int64(f), 0).UTC()
	}
	return c, nil
}
