package certs

import (
	"time"

	passkeyd "github.com/passkeyd/passkeyd"
)

// Describe reports on a stored certificate chain (public part only, as
// EncodeChainPEM wrote it): what it is, and its validity as of now. It is
// what the connector shows without unsealing the key; KeyMatches stays
// false because no key is looked at.
func Describe(chainPEM []byte, now time.Time) *passkeyd.CertificateReport {
	r := &passkeyd.CertificateReport{}
	f := &findings{}
	chain, err := ParseChainPEM(chainPEM)
	if err != nil || len(chain) == 0 {
		f.errorf("the stored certificate cannot be read")
		return finish(r, f)
	}
	describe(r, parsed{certs: chain}, now, f)
	r.Valid = len(f.errors) == 0
	return finish(r, f)
}

// Check re-validates a stored credential (certificate and unsealed key)
// as of now: the report Validate would give for the same upload.
func Check(cc *passkeyd.ClientCertificate, now time.Time) *passkeyd.CertificateReport {
	r := &passkeyd.CertificateReport{}
	f := &findings{}
	if cc == nil || len(cc.Chain) == 0 || cc.Key == nil {
		f.errorf("no certificate credential is stored")
		return finish(r, f)
	}
	describe(r, parsed{certs: cc.Chain, key: cc.Key}, now, f)
	r.Valid = len(f.errors) == 0 && r.KeyMatches
	return finish(r, f)
}
