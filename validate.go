package passkeyd

import (
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE = regexp.MustCompile(`^(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?))+$`)
	// upnLocalRE is deliberately narrower than RFC 5322: it is what Entra
	// accepts in a UPN prefix, and it keeps path tricks out of Graph URLs.
	upnLocalRE = regexp.MustCompile(`^[A-Za-z0-9'._+!#^~{}-]{1,64}$`)
)

// IsGUID reports whether s is a GUID in its canonical 8-4-4-4-12 form.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// ValidTenantID reports whether s is a tenant GUID or a domain name.
func ValidTenantID(s string) bool {
	return IsGUID(s) || (len(s) <= 253 && domainRE.MatchString(s))
}

// ValidUPN reports whether s is a user principal name Graph can be asked
// about: local@domain, no spaces, no path characters.
func ValidUPN(s string) bool {
	if len(s) > 113 { // Entra's limit for a UPN
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || strings.Contains(domain, "@") {
		return false
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return false
	}
	if _, err := mail.ParseAddress(s); err != nil {
		return false
	}
	return upnLocalRE.MatchString(local) && domainRE.MatchString(domain)
}

// Printable reports whether s holds no control or bidirectional-override
// characters, so that it is safe in logs and pages as one line.
func Printable(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return false
		}
		switch r {
		case '\u2028', '\u2029', '\ufeff':
			return false
		}
	}
	return true
}

func isHTTPSURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.RawQuery == "" && u.Fragment == ""
}
