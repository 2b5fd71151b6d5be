package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

// errorTable returns Twilio's error table (ErrorReason documents the
// codes' meanings).
func errorTable() providers.ErrorTable {
	return providers.ErrorTable{
		// The destination cannot receive SMS.
		{Codes: []int{21211}, Reason: contract.ReasonInvalidNumber, Permanent: true},
		{Codes: []int{21614, 21635}, Reason: contract.ReasonNotAMobileNumber, Permanent: true},
		{Codes: []int{21610}, Reason: contract.ReasonUnsubscribed, Permanent: true},
		{Codes: []int{21408}, Reason: contract.ReasonRegionNotPermitted, Permanent: true},
		{Codes: []int{21612}, Reason: contract.ReasonUnreachableRoute, Permanent: true},

		// Our sender (or account) is wrong: no retry helps until an operator acts.
		{Codes: []int{21212, 21606, 21608, 21659, 21660, 21661, 21910, 63007}, Reason: contract.ReasonSenderMisconfigured, Permanent: true},
		{Codes: []int{30002}, Reason: contract.ReasonAccountSuspended, Permanent: true},
		{Codes: []int{30034}, Reason: contract.ReasonSenderUnregistered, Permanent: true},

		// The destination cannot receive on WhatsApp, or the template is wrong.
		{Codes: []int{63003}, Reason: contract.ReasonNotOnWhatsApp, Permanent: true},
		{Codes: []int{63024}, Reason: contract.ReasonInvalidRecipient, Permanent: true},
		{Codes: []int{63032}, Reason: contract.ReasonRecipientRestricted, Permanent: true},
		{Codes: []int{63016}, Reason: contract.ReasonOutsideSessionWindow, Permanent: true},
		{Codes: []int{63027, 63028}, Reason: contract.ReasonTemplateMisconfigured, Permanent: true},

		// The destination cannot receive this RCS sender's messages (device
		// not RCS-capable, RCS off or offline, not a tester of an unlaunched
		// agent, region the agent does not serve): fail over at once.
		{Codes: []int{63035, 63036, 63106}, Reason: contract.ReasonRCSNotCapable, Permanent: true},

		// Transient.
		{Codes: []int{63018}, Reason: contract.ReasonRateLimited},
		{Codes: []int{30001}, Reason: contract.ReasonQueueOverflow},
		{Codes: []int{30003}, Reason: contract.ReasonUnreachable},
		{Codes: []int{30008}, Reason: contract.ReasonUnknownError},

		// Delivery failures reported by receipts.
		{Codes: []int{30004}, Reason: contract.ReasonMessageBlocked, Permanent: true},
		{Codes: []int{30005}, Reason: contract.ReasonUnknownDestination, Permanent: true},
		{Codes: []int{30006}, Reason: contract.ReasonLandline, Permanent: true},
		{Codes: []int{30007}, Reason: contract.ReasonCarrierFiltered, Permanent: true},
	}
}

// ErrorReason maps a Twilio error code to a stable snake_case reason, and
// reports whether the failure is permanent: whether sending the same
// message to the same destination on the same channel again cannot succeed.
// Unknown codes return "", false: Send then decides by the HTTP status and
// ParseStatusCallback reports contract.ReasonProviderError.
//
// The codes come from Twilio's error dictionary (twilio.com/docs/api/errors)
// and its table of WhatsApp error codes. 21xxx and most 63xxx codes come back
// synchronously from the Messages API; 30xxx (and 63xxx for WhatsApp and
// RCS) also arrive asynchronously as the ErrorCode of status callbacks.
//
// Send applies it thus: a permanent code fails the step at once with a
// *providers.PermanentError; a known non-permanent code (63018, 30001, …) is
// retried whatever the HTTP status; an unknown code is retried on 429 and
// 5xx and is a permanent contract.ReasonProviderRejected on any other 4xx.
//
//	code   reason                           permanent  meaning
//	21211  invalid_number                   yes        invalid 'To' phone number
//	21614  not_a_mobile_number              yes        'To' is not a mobile number (SMS)
//	21635  not_a_mobile_number              yes        'To' is a landline (SMS)
//	21610  unsubscribed                     yes        recipient replied STOP
//	21408  region_not_permitted             yes        Geo permissions block the 'To' region
//	21612  unreachable_route                yes        'To'/'From' pair cannot be connected
//	21212  sender_misconfigured             yes        invalid 'From' number
//	21606  sender_misconfigured             yes        'From' not a message-capable Twilio number
//	21608  sender_misconfigured             yes        trial account: 'To' not verified
//	21659  sender_misconfigured             yes        'From' not a Twilio number / short-code country mismatch
//	21660  sender_misconfigured             yes        'From' belongs to another account
//	21661  sender_misconfigured             yes        'From' not SMS-capable
//	21910  sender_misconfigured             yes        'From' and 'To' on different channels
//	63007  sender_misconfigured             yes        no WhatsApp sender for 'From'
//	63003  not_on_whatsapp                  yes        WhatsApp cannot find the 'To' address
//	63024  invalid_recipient                yes        Meta: invalid WhatsApp user / recipient restriction
//	63032  recipient_restricted             yes        Meta 472: user's number is part of an experiment
//	63035  rcs_not_capable                  yes        RCS agent not launched and 'To' not an accepted tester, or region not served
//	63036  rcs_not_capable                  yes        'To' cannot be reached over RCS (not RBM-capable, RCS off, offline)
//	63106  rcs_not_capable                  yes        handset not RCS-capable (capability check of the Senders API)
//	63016  outside_session_window           yes        freeform message outside the 24 h window (not a template)
//	63027  template_misconfigured           yes        template does not exist for the language/locale
//	63028  template_misconfigured           yes        template parameter count mismatch
//	63018  rate_limited                     no         WhatsApp rate limit
//	30001  queue_overflow                   no         too many queued messages
//	30002  account_suspended                yes        account suspended
//	30003  unreachable                      no         handset off / out of coverage
//	30004  message_blocked                  yes        blocked by the recipient or the carrier
//	30005  unknown_destination              yes        unknown or inactive number
//	30006  landline_or_unreachable_carrier  yes        landline or carrier not reachable
//	30007  carrier_filtered                 yes        filtered as spam by the carrier
//	30008  unknown_error                    no         unknown delivery error
//	30034  sender_unregistered              yes        US A2P 10DLC: unregistered sender
func ErrorReason(code int) (reason contract.FailureReason, permanent bool) {
	r, _ := errorTable().Lookup(code)
	return r.Reason, r.Permanent
}

// APIError is an error answer of the Twilio API (Messages, Calls). Its
// message deliberately
// holds only the HTTP status and Twilio's error code: Twilio's message text
// may quote the destination. Unwrap gives twilio-go's error.
type APIError struct {
	// HTTPStatus is the HTTP status of the answer.
	HTTPStatus int
	// Code is Twilio's error code (0 when the body had none).
	Code int
	// Wait is the answer's Retry-After (0: none).
	Wait time.Duration
	err  error
}

// ProviderFault implements providers.FaultError: 429 and Twilio's rate
// limit codes are rate limits, 5xx server errors.
func (e *APIError) ProviderFault() providers.Fault {
	if e.Code == 20429 || e.Code == 63018 || e.Code == 14107 {
		return providers.FaultRateLimited
	}
	return providers.StatusFault(e.HTTPStatus)
}

// RetryAfter implements providers.FaultError.
func (e *APIError) RetryAfter() time.Duration { return e.Wait }

// Error implements error.
func (e *APIError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("API error (HTTP %d)", e.HTTPStatus)
	}
	return fmt.Sprintf("API error %d (HTTP %d)", e.Code, e.HTTPStatus)
}

// Unwrap returns twilio-go's error.
func (e *APIError) Unwrap() error { return e.err }

// Classify turns an error of one twilio-go API call (CreateMessage,
// CreateCall) into Send's error: a *providers.PermanentError when retrying
// cannot help, else a plain error. what prefixes every message ("twilio:
// send sms", "twiliovoice: call"); table maps Twilio's error codes, and a
// code it does not know is retried on 429 and 5xx and is a permanent
// contract.ReasonProviderRejected on any other 4xx. status is the HTTP
// status of the last answer (0 if none came). The returned rule is table's
// row of the error's code (zero when none matched). API failures wrap an
// *APIError; no error holds Twilio's message text.
func Classify(ctx context.Context, what string, table providers.ErrorTable, err error, status int) (providers.ErrorRule, error) {
	return ClassifyAnswer(ctx, what, table, err, Answer{Status: status})
}

// Answer is what NewAPIService's done reports of the last HTTP answer.
type Answer struct {
	// Status is its HTTP status (0 if none came).
	Status int
	// RetryAfter is its Retry-After header, parsed (0: none).
	RetryAfter time.Duration
}

// ClassifyAnswer is Classify with the last answer's Retry-After, which the
// error then carries (providers.FaultError).
func ClassifyAnswer(ctx context.Context, what string, table providers.ErrorTable, err error, ans Answer) (providers.ErrorRule, error) {
	status := ans.Status
	apiErr := &APIError{HTTPStatus: status, Wait: ans.RetryAfter, err: err}
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
		return providers.ErrorRule{}, fmt.Errorf("%s: %w: %w", what, context.Cause(ctx), err)
	case status >= http.StatusBadRequest:
		// An error answer whose body is not Twilio's JSON (a proxy's page).
	default:
		// No answer (network error, timeout), or a 2xx twilio-go could not
		// decode: retryable.
		return providers.ErrorRule{}, fmt.Errorf("%s: %w", what, err)
	}

	wrapped := fmt.Errorf("%s: %w", what, apiErr)
	if rule, ok := table.Lookup(apiErr.Code); ok && apiErr.Code != 0 {
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
