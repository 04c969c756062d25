package passkeyd

// Fido2Policy is the tenant's FIDO2 authentication method configuration
// (graph-api.md §4.5): GET /v1.0/policies/authenticationMethodsPolicy/
// authenticationMethodConfigurations/fido2. Reading it needs
// Policy.Read.AuthenticationMethod; passkeyd treats it as optional.
type Fido2Policy struct {
	State                            string           `json:"state"` // "enabled" | "disabled"
	IsSelfServiceRegistrationAllowed bool             `json:"isSelfServiceRegistrationAllowed"`
	IsAttestationEnforced            bool             `json:"isAttestationEnforced"` // deprecated by passkey profiles
	KeyRestrictions                  *KeyRestrictions `json:"keyRestrictions,omitempty"`
	IncludeTargets                   []PolicyTarget   `json:"includeTargets,omitempty"`
	ExcludeTargets                   []PolicyTarget   `json:"excludeTargets,omitempty"`
	PasskeyProfiles                  []PasskeyProfile `json:"passkeyProfiles,omitempty"`
}

// KeyRestrictions limits which authenticator models (AAGUIDs) may register.
type KeyRestrictions struct {
	IsEnforced      bool     `json:"isEnforced"`
	EnforcementType string   `json:"enforcementType"` // "allow" | "block"
	AAGUIDs         []string `json:"aaGuids"`
}

// PolicyTarget is a user or group a policy applies to; ID "all_users"
// targets everyone.
type PolicyTarget struct {
	TargetType string `json:"targetType"` // "group" | "user"
	ID         string `json:"id"`
}

// PasskeyProfile is a named set of passkey rules within the FIDO2 policy.
type PasskeyProfile struct {
	ID                     string           `json:"id,omitempty"`
	Name                   string           `json:"name,omitempty"`
	PasskeyTypes           string           `json:"passkeyTypes,omitempty"`           // "deviceBound,synced"
	AttestationEnforcement string           `json:"attestationEnforcement,omitempty"` // "disabled" | "registrationOnly"
	KeyRestrictions        *KeyRestrictions `json:"keyRestrictions,omitempty"`
}
