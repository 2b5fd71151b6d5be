package twiliovoice

import (
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

// errorTable returns the Calls API's error table (ErrorReason documents
// the codes' meanings).
func errorTable() providers.ErrorTable {
	return providers.ErrorTable{
		// The destination cannot take this call.
		{Codes: []int{21201, 21211, 21217, 21401}, Reason: contract.ReasonInvalidNumber, Permanent: true},
		{Codes: []int{21214}, Reason: contract.ReasonUnreachableRoute, Permanent: true},
		{Codes: []int{21215}, Reason: contract.ReasonRegionNotPermitted, Permanent: true},
		{Codes: []int{21216}, Reason: contract.ReasonRecipientNotAllowed, Permanent: true},

		// Our caller id or account is wrong: no call works until an operator acts.
		{Codes: []int{21210, 21212, 21213, 21219}, Reason: contract.ReasonSenderMisconfigured, Permanent: true, Alert: true},
		{Codes: []int{20003}, Reason: contract.ReasonProviderAuth, Permanent: true, Alert: true},
		{Codes: []int{20404}, Reason: contract.ReasonProviderConfig, Permanent: true, Alert: true},

		// Transient.
		{Codes: []int{20429}, Reason: contract.ReasonRateLimited},
	}
}

// ErrorReason maps an error code of Twilio's Calls API to a stable
// snake_case reason, and reports whether the failure is permanent: whether
// calling the same destination again cannot succeed. Unknown codes return
// "", false: Send then decides by the HTTP status (retried on 429 and 5xx,
// a permanent contract.ReasonProviderRejected on any other 4xx).
//
// The codes come from Twilio's error dictionary (twilio.com/docs/api/errors);
// they come back synchronously from POST …/Calls.json. Codes marked alert
// are logged for an operator: they fail every call, not one recipient's.
//
//	code   reason                  permanent  meaning
//	21201  invalid_number          yes        no 'To' number
//	21211  invalid_number          yes        invalid 'To' phone number
//	21217  invalid_number          yes        the number does not appear to be valid
//	21401  invalid_number          yes        invalid phone number
//	21214  unreachable_route       yes        'To' phone number cannot be reached
//	21215  region_not_permitted    yes        Geo permissions do not allow calls to 'To'
//	21216  recipient_not_allowed   yes        account not allowed to call 'To' (high-risk/premium)
//	21210  sender_misconfigured    yes alert  'From' is not a verified caller id
//	21212  sender_misconfigured    yes alert  invalid 'From' number
//	21213  sender_misconfigured    yes alert  'From' is required
//	21219  sender_misconfigured    yes alert  trial account: 'To' is not verified
//	20003  provider_auth           yes alert  authentication failed
//	20404  provider_config         yes alert  account (resource) not found
//	20429  rate_limited            no         too many requests
//
// Send classifies its errors with twilio.Classify and this table: API
// failures wrap a *twilio.APIError.
func ErrorReason(code int) (reason contract.FailureReason, permanent bool) {
	r, _ := errorTable().Lookup(code)
	return r.Reason, r.Permanent
}
