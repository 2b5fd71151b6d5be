package twiliovoice

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/twilio/twilio-go/client"

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
func ErrorReason(code int) (reason contract.FailureReason, permanent bool) {
	r, _ := errorTable().Lookup(code)
	return r.Reason, r.Permanent
}

// APIError is an error answer of the Calls API. Its message holds only the
// HTTP status and Twilio's error code: Twilio's message text may quote the
// destination. Unwrap gives twilio-go's error.
type APIError struct {
	// HTTPStatus is the HTTP status of the answer.
	HTTPStatus int
	// Code is Twilio's error code (0 when the body had none).
	Code int
	err  error
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("API error (HTTP %d)", e.HTTPStatus)
	}
	return fmt.Sprintf("API error %d (HTTP %d)", e.Code, e.HTTPStatus)
}

// Unwrap returns twilio-go's error.
func (e *APIError) Unwrap() error { return e.err }

// classify turns an error of CreateCall into Send's error: a
// *providers.PermanentError when retrying cannot help, else a plain error.
// status is the HTTP status of the last answer (0 if none came). The
// returned rule is the error table's row (zero when none matched).
func classify(ctx context.Context, err error, status int) (providers.ErrorRule, error) {
	apiErr := &APIError{HTTPStatus: status, err: err}
	var restErr *client.TwilioRestError
	var v1Err *client.RestErrorV1
	switch {
	case errors.As(err, &restErr):
		apiErr.Code = restErr.Code
		if apiErr.HTTPStatus == 0 {
			apiErr.HTTPStatus = restErr.Status
		}
	case errors.As(err, &v1Err):
		apiErr.Code = v1Err.Code
		if apiErr.HTTPStatus == 0 {
			apiErr.HTTPStatus = v1Err.HttpStatusCode
		}
	case ctx.Err() != nil:
		// Our deadline or cancellation: the caller decides what comes next.
		return providers.ErrorRule{}, fmt.Errorf("twiliovoice: call: %w: %w", context.Cause(ctx), err)
	case status >= http.StatusBadRequest:
		// An error answer whose body is not Twilio's JSON (a proxy's page).
	default:
		// No answer (network error, timeout), or a 2xx twilio-go could not
		// decode: retryable.
		return providers.ErrorRule{}, fmt.Errorf("twiliovoice: call: %w", err)
	}

	wrapped := fmt.Errorf("twiliovoice: call: %w", apiErr)
	if rule, ok := errorTable().Lookup(apiErr.Code); ok && apiErr.Code != 0 {
		if rule.Permanent {
			return rule, &providers.PermanentError{Reason: rule.Reason, Err: wrapped}
		}
		return rule, wrapped
	}
	switch s := apiErr.HTTPStatus; {
	case s == http.StatusTooManyRequests || s >= 500 || s < 400:
		return providers.ErrorRule{}, wrapped
	default:
		return providers.ErrorRule{}, &providers.PermanentError{Reason: contract.ReasonProviderRejected, Err: wrapped}
	}
}
