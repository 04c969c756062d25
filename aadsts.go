package passkeyd

// ExplainAADSTS returns one sentence of advice for an admin facing the
// AADSTS error code, or "" for codes passkeyd has no advice for (graph-api.md §2).
func ExplainAADSTS(code int) string {
	switch code {
	case 7000215:
		return "The client secret is wrong: paste the secret's Value from Certificates & secrets, not its Secret ID."
	case 7000222:
		return "The client secret has expired: create a new secret for the app registration and save its value here."
	case 7000218:
		return "The token request carried neither a client secret nor a certificate assertion: configure one of them."
	case 700016:
		return "The application (client) ID is not found in this tenant: check the client ID and tenant ID, and that the app was created or consented in this tenant."
	case 700027:
		return "The certificate assertion's signature was not accepted: upload this certificate to the app registration, or use the key that matches the uploaded certificate."
	case 700024:
		return "The certificate assertion is outside its validity window: check this server's clock."
	case 90002:
		return "The tenant was not found: check the tenant ID or domain, and that it belongs to the selected cloud."
	case 900023:
		return "The tenant identifier is malformed: use the directory (tenant) ID GUID or a verified domain name."
	case 90038:
		return "The tenant lives in another national cloud: select that cloud (for example US Government or China) in the connector settings."
	case 70011, 700022, 700023:
		return "The requested scope is invalid: the Graph URL must be the selected cloud's Graph host, used with /.default."
	}
	return ""
}
