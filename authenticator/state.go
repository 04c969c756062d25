package authenticator

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// state is the keystore's plaintext: JSON, encrypted as a whole.
type state struct {
	Credentials []credRecord      `json:"credentials"`
	Data        map[string]string `json:"data"`
}

// credRecord is a credential at rest. []byte fields are standard base64 in
// JSON; PrivateKey is PKCS #8 DER.
type credRecord struct {
	ID              []byte    `json:"id"`
	RPID            string    `json:"rp_id"`
	UserID          string    `json:"user_id"`
	UserHandle      []byte    `json:"user_handle"`
	UserName        string    `json:"user_name,omitempty"`
	UserDisplayName string    `json:"user_display_name,omitempty"`
	PrivateKey      []byte    `json:"private_key"`
	SignCount       uint32    `json:"sign_count"`
	CreatedAt       time.Time `json:"created_at"`
	MethodID        string    `json:"method_id,omitempty"`
	CredProtect     int       `json:"cred_protect,omitempty"`
	HMACSecret      bool      `json:"hmac_secret,omitempty"`
	CredRandom      []byte    `json:"cred_random,omitempty"`
}

func encodeState(creds []*credential, data map[string]string) ([]byte, error) {
	st := state{Credentials: make([]credRecord, 0, len(creds)), Data: data}
	for _, c := range creds {
		der, err := x509.MarshalPKCS8PrivateKey(c.key)
		if err != nil {
			return nil, fmt.Errorf("encode key of %s: %w", EncodeID(c.id), err)
		}
		st.Credentials = append(st.Credentials, credRecord{
			ID: c.id, RPID: c.rpID, UserID: c.userID, UserHandle: c.userHandle,
			UserName: c.userName, UserDisplayName: c.userDisplayName, PrivateKey: der,
			SignCount: c.signCount, CreatedAt: c.createdAt, MethodID: c.methodID,
			CredProtect: c.credProtect, HMACSecret: c.hmacSecret, CredRandom: c.credRandom,
		})
	}
	b, err := json.Marshal(st)
	for i := range st.Credentials {
		clear(st.Credentials[i].PrivateKey)
	}
	return b, err
}

func decodeState(plain []byte) (*state, error) {
	var st state
	if err := json.Unmarshal(plain, &st); err != nil {
		return nil, fmt.Errorf("decode state: %w", err)
	}
	return &st, nil
}

// decode turns records into credentials, checking each one so that a
// damaged keystore fails at Open rather than at sign-in.
func (st *state) decode() ([]*credential, error) {
	out := make([]*credential, 0, len(st.Credentials))
	seen := map[string]bool{}
	for i, r := range st.Credentials {
		switch {
		case len(r.ID) == 0 || len(r.ID) > 1023:
			return nil, fmt.Errorf("credential %d: bad ID", i)
		case seen[string(r.ID)]:
			return nil, fmt.Errorf("credential %d: duplicate ID", i)
		case !validHostname(r.RPID):
			return nil, fmt.Errorf("credential %d: bad rp ID", i)
		case r.CredProtect < CredProtectNone || r.CredProtect > CredProtectUVRequired:
			return nil, fmt.Errorf("credential %d: bad credProtect", i)
		}
		seen[string(r.ID)] = true
		key, err := parseKey(r.PrivateKey)
		clear(r.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("credential %d: %w", i, err)
		}
		out = append(out, &credential{
			id: r.ID, rpID: r.RPID, userID: r.UserID, userHandle: r.UserHandle,
			userName: r.UserName, userDisplayName: r.UserDisplayName, key: key,
			signCount: r.SignCount, createdAt: r.CreatedAt, methodID: r.MethodID,
			credProtect: r.CredProtect, hmacSecret: r.HMACSecret, credRandom: r.CredRandom,
		})
	}
	return out, nil
}

// parseKey accepts the two key types this authenticator creates.
func parseKey(der []byte) (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errors.New("unreadable private key")
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("private key is not P-256")
		}
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T", k)
}
