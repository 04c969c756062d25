package entraemu

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"time"
)

// clientAssertionType is the only assertion type Entra accepts.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionSkew is the clock skew tolerated on assertion times, as Entra
// tolerates five minutes.
const assertionSkew = 5 * time.Minute

// maxAssertionLifetime bounds exp-nbf; Microsoft documents 5-10 minutes,
// the emulator is lenient up to an hour but no more.
const maxAssertionLifetime = time.Hour

func (c AppCertificate) parse() (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(c.PEM))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("certificate is not a PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, err
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, errors.New("certificate key is not RSA (Entra accepts RSA certificate credentials)")
	}
	return cert, nil
}

// verifyClientAssertion checks a certificate credential's JWT
// (graph-api.md §2): PS256 with x5t#S256 or RS256 with x5t, a key
// uploaded to the app, aud = this token endpoint, iss = sub = client ID,
// a fresh jti and a current time window.
func (e *Emulator) verifyClientAssertion(r *http.Request, t *tenantState, app *App, typ, assertion string) *aadError {
	if typ != clientAssertionType {
		return errInvalidRequest(codeMissingParameter, "The request body must contain 'client_assertion_type' = '%s'.", clientAssertionType)
	}
	if assertion == "" {
		return errInvalidRequest(codeMissingParameter, "The request body must contain the following parameter: 'client_assertion'.")
	}
	jwt, err := parseJWT(assertion)
	if err != nil {
		return errInvalidClient(codeMalformedJWT, "JWT token is invalid or malformed: %s.", err)
	}
	alg := jwt.hstr("alg")
	var thumb string
	var find func(*x509.Certificate) bool
	switch {
	case jwt.hstr("x5t#S256") != "":
		thumb = jwt.hstr("x5t#S256")
		find = func(c *x509.Certificate) bool { s := sha256.Sum256(c.Raw); return sameThumbprint(s[:], thumb) }
	case jwt.hstr("x5t") != "" && alg == "RS256":
		thumb = jwt.hstr("x5t")
		find = func(c *x509.Certificate) bool { s := sha1.Sum(c.Raw); return sameThumbprint(s[:], thumb) }
	default:
		return errInvalidClient(codeMalformedJWT, "JWT token is invalid or malformed: the header needs 'x5t#S256' (PS256 or RS256) or 'x5t' (RS256).")
	}
	if alg != "PS256" && alg != "RS256" {
		return errInvalidClient(codeMalformedJWT, "JWT token is invalid or malformed: alg must be PS256 or RS256.")
	}
	var cert *x509.Certificate
	for _, c := range app.Certificates {
		if pc, err := c.parse(); err == nil && find(pc) {
			cert = pc
			break
		}
	}
	if cert == nil {
		return errInvalidClient(codeAssertionBadKey, "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", truncate(thumb, 64), app.ClientID)
	}
	if err := jwt.verifyRSA(alg, cert.PublicKey.(*rsa.PublicKey)); err != nil {
		return errInvalidClient(codeAssertionBadKey, "Client assertion contains an invalid signature. [Reason - The signature does not verify with the uploaded key., Thumbprint of key used by client: '%s']", truncate(thumb, 64))
	}
	now := e.now()
	if now.After(cert.NotAfter) {
		return errInvalidClient(codeAssertionBadKey, "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '%s']", truncate(thumb, 64))
	}
	if jwt.str("iss") != app.ClientID || jwt.str("sub") != app.ClientID {
		return errInvalidClient(codeAssertionIssuer, "Client assertion application identifier doesn't match 'client_id' parameter: iss and sub must both be the client ID.")
	}
	if !e.isTokenEndpoint(r, t, jwt.str("aud")) {
		return errInvalidClient(codeMalformedJWT, "JWT token is invalid or malformed: the audience must be this token endpoint (%s/%s/oauth2/v2.0/token).", e.baseURL(r), t.ID)
	}
	exp, okExp := jwt.unix("exp")
	nbf, okNbf := jwt.unix("nbf")
	if !okNbf {
		nbf, okNbf = jwt.unix("iat")
	}
	if !okExp || !okNbf {
		return errInvalidClient(codeMalformedJWT, "JWT token is invalid or malformed: exp and nbf (or iat) are required.")
	}
	if now.Add(assertionSkew).Before(nbf) || now.Add(-assertionSkew).After(exp) || exp.Sub(nbf) > maxAssertionLifetime {
		return errInvalidClient(codeAssertionTime, "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.", now.UTC().Format(time.RFC3339), nbf.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339))
	}
	jti := jwt.str("jti")
	if jti == "" || len(jti) > 256 {
		return errInvalidClient(codeMalformedJWT, "JWT token is invalid or malformed: jti is required.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pruneLocked(now)
	if _, seen := e.jtis[jti]; seen {
		return errInvalidClient(codeMalformedJWT, "JWT token is invalid or malformed: the assertion's jti was already used.")
	}
	e.jtis[jti] = exp.Add(assertionSkew)
	return nil
}

// isTokenEndpoint reports whether aud is this tenant's token endpoint, by
// GUID or domain.
func (e *Emulator) isTokenEndpoint(r *http.Request, t *tenantState, aud string) bool {
	for _, base := range []string{e.baseURL(r), e.URL()} {
		if base == "" {
			continue
		}
		for _, id := range []string{t.ID, t.Domain} {
			if strings.EqualFold(aud, base+"/"+id+"/oauth2/v2.0/token") {
				return true
			}
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// sameThumbprint compares a certificate digest with a JWT header
// thumbprint. RFC 7515 says base64url without padding, but MSAL sends
// x5t#S256 in standard base64 with padding and Entra accepts it, so both
// encodings match.
func sameThumbprint(digest []byte, thumb string) bool {
	return b64(digest) == thumb || base64.StdEncoding.EncodeToString(digest) == thumb
}
