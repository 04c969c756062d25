package certs

import (
	"encoding/asn1"
	"fmt"
	"math/big"
)

// Object identifiers whose parameters carry a key-derivation iteration
// count: the PKCS#12 PBE schemes (RFC 7292 appendix C) and PBKDF2 (used by
// PBES2 and PBMAC1, RFC 8018).
var (
	oidPKCS12PBE = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1}
	oidPBKDF2    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
)

// Bounds on the structure walk itself, so that checking the cost of a file
// cannot cost more than decoding it.
const (
	maxWalkDepth = 24
	maxWalkNodes = 20000
)

// checkPKCS12Cost returns a message when the file asks for more
// key-derivation work than MaxPKCS12Iterations, before any of that work is
// done: go-pkcs12 takes the iteration counts from the file unbounded.
//
// It walks every ASN.1 structure visible without the password (DER inside
// OCTET STRINGs included): the MAC parameters, the encryption parameters
// of encrypted content and of shrouded key bags stored in plain content.
// Parameters inside encrypted content are only visible after decryption;
// reaching them requires the right password, so only the uploader can
// make passkeyd pay for them.
func checkPKCS12Cost(der []byte) string {
	w := pkcs12Work(der)
	switch {
	case w.tooComplex:
		return fmt.Sprintf("the PKCS#12 file is too deeply nested to be a real certificate export (more than %d levels or %d elements)", maxWalkDepth, maxWalkNodes)
	case w.total.Cmp(big.NewInt(MaxPKCS12Iterations)) > 0:
		return fmt.Sprintf("the PKCS#12 file asks for %s key-derivation iterations in total, more than the %d accepted: re-export it with default settings (e.g. openssl pkcs12 -export)", w.total, MaxPKCS12Iterations)
	}
	return ""
}

// pkcs12Work sums the iteration counts visible in a PKCS#12 file.
func pkcs12Work(der []byte) *walker {
	w := &walker{total: new(big.Int)}
	var top asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &top); err != nil || len(rest) != 0 {
		return w // not DER: go-pkcs12 rejects it before deriving any key
	}
	w.macIterations(top)
	w.walk(top, 0)
	return w
}

// walker scans a PKCS#12 structure for iteration counts above the limit.
type walker struct {
	nodes      int
	tooComplex bool
	total      *big.Int // sum of the iteration counts seen
}

// macIterations checks the MacData of the PFX: SEQUENCE { version,
// authSafe, macData SEQUENCE { DigestInfo, macSalt, iterations } }.
func (w *walker) macIterations(pfx asn1.RawValue) {
	children, ok := elements(pfx)
	if !ok || len(children) < 3 {
		return
	}
	mac, ok := elements(children[2])
	if !ok || len(mac) < 3 {
		return
	}
	w.checkCount(mac[2])
}

// walk visits v and everything below it, depth first.
func (w *walker) walk(v asn1.RawValue, depth int) {
	if w.tooComplex {
		return
	}
	w.nodes++
	if depth > maxWalkDepth || w.nodes > maxWalkNodes {
		w.tooComplex = true
		return
	}
	if v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString && !v.IsCompound {
		// authSafe and SafeContents are DER wrapped in OCTET STRINGs;
		// opaque (encrypted) octets simply fail to parse.
		var inner asn1.RawValue
		if rest, err := asn1.Unmarshal(v.Bytes, &inner); err == nil && len(rest) == 0 {
			w.walk(inner, depth+1)
		}
		return
	}
	children, ok := elements(v)
	if !ok {
		return
	}
	w.algorithm(children)
	for _, c := range children {
		w.walk(c, depth+1)
	}
}

// algorithm checks an AlgorithmIdentifier-shaped SEQUENCE { OID, params }
// whose algorithm carries an iteration count as the second parameter.
func (w *walker) algorithm(children []asn1.RawValue) {
	if len(children) != 2 || children[0].Tag != asn1.TagOID || children[0].Class != asn1.ClassUniversal {
		return
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(children[0].FullBytes, &oid); err != nil {
		return
	}
	pbe := len(oid) == len(oidPKCS12PBE)+1 && oid[:len(oidPKCS12PBE)].Equal(oidPKCS12PBE)
	if !pbe && !oid.Equal(oidPBKDF2) {
		return
	}
	params, ok := elements(children[1])
	if !ok || len(params) < 2 {
		return
	}
	w.checkCount(params[1])
}

// checkCount adds an iteration count to the total.
func (w *walker) checkCount(v asn1.RawValue) {
	if v.Class != asn1.ClassUniversal || v.Tag != asn1.TagInteger {
		return
	}
	n := new(big.Int)
	if _, err := asn1.Unmarshal(v.FullBytes, &n); err != nil {
		return
	}
	if n.Sign() > 0 {
		w.total.Add(w.total, n)
	}
}

// elements returns the children of a constructed value.
func elements(v asn1.RawValue) ([]asn1.RawValue, bool) {
	if !v.IsCompound {
		return nil, false
	}
	var out []asn1.RawValue
	rest := v.Bytes
	for len(rest) > 0 {
		var c asn1.RawValue
		var err error
		rest, err = asn1.Unmarshal(rest, &c)
		if err != nil {
			return nil, false
		}
		out = append(out, c)
	}
	return out, true
}
