package salesforce

import (
	"errors"
	"strings"

	"github.com/peregrine-scoring/peregrine/domain/outbound"
)

// Problem is a connection failure in plain words: what happened and what to do.
type Problem struct {
	Code  string // a stable key: refresh_revoked, auth_failure, api_disabled, …
	Cause string
	Fix   string
	// Reconnect means only a new authorization helps; retrying will not.
	Reconnect bool
	// Pause means the org's API allowance is spent: wait, do not re-authenticate.
	Pause bool
}

// Explain turns a Salesforce error into what the status panel says.
func Explain(err error) Problem {
	var oe *OAuthError
	var ae *APIError
	var ne *NetworkError
	var refused *outbound.RefusedError
	switch {
	case errors.As(err, &refused):
		return Problem{Code: "host_refused", Reconnect: true, Cause: refused.Message,
			Fix: "Use Salesforce's own login address (Production, Sandbox, or your My Domain)."}
	case errors.As(err, &oe):
		desc := strings.ToLower(oe.Description)
		switch {
		case oe.Code == "invalid_grant" && strings.Contains(desc, "expired access/refresh token"):
			return Problem{Code: "refresh_revoked", Reconnect: true,
				Cause: "Salesforce no longer accepts Peregrine's authorization: it was revoked, expired, or replaced (each user may approve an app at most 5 times; the 6th approval revokes the oldest).",
				Fix:   "Connect with Salesforce again."}
		case oe.Code == "invalid_grant" && strings.Contains(desc, "authentication failure"):
			return Problem{Code: "auth_failure", Reconnect: true,
				Cause: "Salesforce refused the sign-in (invalid_grant: authentication failure). The password or the security token changed — a password reset sends a new security token — or the org blocks the username-password flow (orgs created since Summer ’23 do).",
				Fix:   "Enter the current password and security token, or better, connect with Salesforce (OAuth), which survives password changes."}
		case oe.Code == "invalid_grant" && strings.Contains(desc, "ip restricted"):
			return Problem{Code: "ip_restricted", Reconnect: true,
				Cause: "Salesforce refused the sign-in because of the user's login IP ranges or login hours.",
				Fix:   "In Salesforce, allow Peregrine's server address in the profile's login IP ranges, then connect again."}
		case oe.Code == "invalid_grant" && strings.Contains(desc, "hasn't approved"):
			return Problem{Code: "not_approved", Reconnect: true,
				Cause: "The connected app is set to admin-approved users, and this user is not pre-authorized.",
				Fix:   "In Salesforce, add the user's profile or a permission set to the connected app, then connect again."}
		case oe.Code == "invalid_grant":
			return Problem{Code: "invalid_grant", Reconnect: true, Cause: "Salesforce refused the authorization: " + oe.Description + ".", Fix: "Connect with Salesforce again."}
		case oe.Code == "invalid_client_id":
			return Problem{Code: "invalid_client_id", Reconnect: true,
				Cause: "Salesforce does not know this consumer key (invalid_client_id). It may be mistyped, belong to another org (production vs sandbox), or the connected app was changed less than 10 minutes ago.",
				Fix:   "Check the consumer key and the login address; after editing the connected app, wait 10 minutes."}
		case oe.Code == "invalid_client":
			return Problem{Code: "invalid_client", Reconnect: true, Cause: "Salesforce refused the consumer secret (invalid_client).", Fix: "Copy the consumer secret again from the connected app."}
		case oe.Code == "inactive_user" || oe.Code == "inactive_org":
			return Problem{Code: oe.Code, Reconnect: true, Cause: "The Salesforce user or org is inactive.", Fix: "Reactivate it in Salesforce, or connect as another user."}
		case oe.Code == "rate_limit_exceeded":
			return Problem{Code: "login_rate", Pause: true, Cause: "Too many sign-ins to Salesforce in a short time.", Fix: "Peregrine tries again later by itself."}
		}
		return Problem{Code: oe.Code, Reconnect: true, Cause: "Salesforce refused: " + oe.Code + " " + oe.Description + ".", Fix: "Connect with Salesforce again."}
	case errors.As(err, &ae):
		switch ae.Code {
		case "API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED":
			return Problem{Code: "api_disabled", Reconnect: true,
				Cause: "This Salesforce edition has no API access (API_DISABLED_FOR_ORG): Essentials and Group never do, Professional only with the API add-on.",
				Fix:   "Use Enterprise, Unlimited, Developer or Performance edition, or buy the API add-on for Professional; or connect a user with the “API Enabled” permission."}
		case "REQUEST_LIMIT_EXCEEDED":
			return Problem{Code: "api_limit", Pause: true,
				Cause: "The org has used its daily API allowance (REQUEST_LIMIT_EXCEEDED).",
				Fix:   "Peregrine pauses and resumes when the rolling 24-hour window allows. Buy more API calls or lower Peregrine's share to stay clear."}
		case "INVALID_SESSION_ID":
			return Problem{Code: "session", Reconnect: true,
				Cause: "Salesforce rejected the session and it could not be renewed: " + ae.Message,
				Fix:   "Connect with Salesforce again; make sure the connected app grants the “api” scope."}
		}
		return Problem{Code: strings.ToLower(ae.Code), Cause: "Salesforce answered " + ae.Code + ": " + ae.Message, Fix: "Peregrine retries; if it lasts, check Salesforce's status page."}
	case errors.As(err, &ne):
		return Problem{Code: "network", Cause: "Salesforce could not be reached: " + ne.Err.Error(), Fix: "Peregrine retries with backoff. Check the login address and this server's network."}
	}
	return Problem{Code: "error", Cause: err.Error(), Fix: "Try again; if it lasts, reconnect."}
}
