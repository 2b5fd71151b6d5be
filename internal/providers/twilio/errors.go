package twilio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/twilio/twilio-go/client"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

// Stable, client-safe failure reasons: the Reason of a
// *providers.PermanentError returned by Send, and the Error of a receipt.
// ErrorReason documents which Twilio codes map to which reason.
const (
	// The destination cannot receive SMS.
	ReasonInvalidNumber      = "invalid_number"       // 21211
	ReasonNotAMobileNumber   = "not_a_mobile_number"  // 21614, 21635
	ReasonUnsubscribed       = "unsubscribed"         // 21610 (STOP)
	ReasonRegionNotPermitted = "region_not_permitted" // 21408
	ReasonUnreachableRoute   = "unreachable_route"    // 21612

	// The destination cannot receive on WhatsApp, or the template is wrong.
	ReasonNotOnWhatsApp         = "not_on_whatsapp"        // 63003
	ReasonInvalidRecipient      = "invalid_recipient"      // 63024
	ReasonRecipientRestricted   = "recipient_restricted"   // 63032
	ReasonOutsideSessionWindow  = "outside_session_window" // 63016
	ReasonTemplateMisconfigured = "template_misconfigured" // 63027, 63028

	// Our sender or account is wrong.
	ReasonSenderMisconfigured = "sender_misconfigured" // 21212, 21606, 21608, 21659, 21660, 21661, 21910, 63007
	ReasonSenderUnregistered  = "sender_unregistered"  // 30034
	ReasonAccountSuspended    = "account_suspended"    // 30002

	// Delivery failures, mostly reported by receipts.
	ReasonRateLimited        = "rate_limited"                    // 63018 (retried)
	ReasonQueueOverflow      = "queue_overflow"                  // 30001 (retried)
	ReasonUnreachable        = "unreachable"                     // 30003
	ReasonMessageBlocked     = "message_blocked"                 // 30004
	ReasonUnknownDestination = "unknown_destination"             // 30005
	ReasonLandline           = "landline_or_unreachable_carrier" // 30006
	ReasonCarrierFiltered    = "carrier_filtered"                // 30007
	ReasonUnknownError       = "unknown_error"                   // 30008

	// ReasonProviderRejected is any other 4xx answer (except 429).
	ReasonProviderRejected = "provider_rejected"
	// ReasonProviderError is a receipt's error code missing from ErrorReason.
	ReasonProviderError = "provider_error"
	// ReasonChannelNotSupported is an email (or unknown channel) message.
	ReasonChannelNotSupported = "channel_not_supported"
	// ReasonChannelNotConfigured is SMS or WhatsApp without a configured sender.
	ReasonChannelNotConfigured = "channel_not_configured"
	// ReasonInvalidMessage is a message without text (SMS) or code (WhatsApp).
	ReasonInvalidMessage = "invalid_message"
)

// ErrorReason maps a Twilio error code to a stable snake_case reason, and
// reports whether the failure is permanent: whether sending the same
// message to the same destination on the same channel again cannot succeed.
// Unknown codes return "", false: Send then decides by the HTTP status and
// ParseStatusCallback reports ReasonProviderError.
//
// The codes come from Twilio's error dictionary (twilio.com/docs/api/errors)
// and its table of WhatsApp error codes. 21xxx and most 63xxx codes come back
// synchronously from the Messages API; 30xxx (and 63xxx for WhatsApp) also
// arrive asynchronously as the ErrorCode of status callbacks.
//
// Send applies it thus: a permanent code fails the step at once with a
// *providers.PermanentError; a known non-permanent code (63018, 30001, …) is
// retried whatever the HTTP status; an unknown code is retried on 429 and
// 5xx and is a permanent ReasonProviderRejected on any other 4xx.
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
func ErrorReason(code int) (reason string, permanent bool) {
	switch code {
	// The destination cannot receive SMS.
	case 21211:
		return ReasonInvalidNumber, true
	case 21614, 21635:
		return ReasonNotAMobileNumber, true
	case 21610:
		return ReasonUnsubscribed, true
	case 21408:
		return ReasonRegionNotPermitted, true
	case 21612:
		return ReasonUnreachableRoute, true

	// Our sender (or account) is wrong: no retry helps until an operator acts.
	case 21212, 21606, 21608, 21659, 21660, 21661, 21910, 63007:
		return ReasonSenderMisconfigured, true
	case 30002:
		return ReasonAccountSuspended, true
	case 30034:
		return ReasonSenderUnregistered, true

	// The destination cannot receive on WhatsApp.
	case 63003:
		return ReasonNotOnWhatsApp, true
	case 63024:
		return ReasonInvalidRecipient, true
	case 63032:
		return ReasonRecipientRestricted, true
	case 63016:
		return ReasonOutsideSessionWindow, true
	case 63027, 63028:
		return ReasonTemplateMisconfigured, true

	// Transient.
	case 63018:
		return ReasonRateLimited, false
	case 30001:
		return ReasonQueueOverflow, false
	case 30003:
		return ReasonUnreachable, false
	case 30008:
		return ReasonUnknownError, false

	// Delivery failures reported by receipts.
	case 30004:
		return ReasonMessageBlocked, true
	case 30005:
		return ReasonUnknownDestination, true
	case 30006:
		return ReasonLandline, true
	case 30007:
		return ReasonCarrierFiltered, true
	}
	return "", false
}

// APIError is an error answer of the Twilio API. Its message deliberately
// holds only the HTTP status and Twilio's error code: Twilio's message text
// may quote the destination. Unwrap gives twilio-go's error.
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

// classify turns an error of CreateMessage into Send's error: a
// *providers.PermanentError when retrying cannot help, else a plain error.
// status is the HTTP status of the last answer (0 if none came).
func classify(ctx context.Context, ch contract.Channel, err error, status int) error {
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
		return fmt.Errorf("twilio: send %s: %w: %w", ch, context.Cause(ctx), err)
	case status >= http.StatusBadRequest:
		// An error answer whose body is not Twilio's JSON (a proxy's page).
	default:
		// No answer (network error, timeout), or a 2xx twilio-go could not
		// decode: retryable.
		return fmt.Errorf("twilio: send %s: %w", ch, err)
	}

	wrapped := fmt.Errorf("twilio: send %s: %w", ch, apiErr)
	if reason, permanent := ErrorReason(apiErr.Code); reason != "" {
		if permanent {
			return &providers.PermanentError{Reason: contract.FailureReason(reason), Err: wrapped}
		}
		return wrapped
	}
	switch s := apiErr.HTTPStatus; {
	case s == http.StatusTooManyRequests || s >= 500 || s < 400:
		return wrapped
	default:
		return &providers.PermanentError{Reason: ReasonProviderRejected, Err: wrapped}
	}
}

// callTransport binds one Send's requests to its ctx (twilio-go builds
// its requests with context.Background()) and records the HTTP status of
// the last answer (twilio-go drops it when an error body is not JSON). It
// serves one Send, from one goroutine.
type callTransport struct {
	ctx    context.Context
	base   http.RoundTripper
	status int
	bodies []io.Closer
}

// closeBodies closes every answer body once twilio-go is done with them:
// twilio-go leaves error answers' bodies open.
func (t *callTransport) closeBodies() {
	for _, b := range t.bodies {
		_ = b.Close() // the body was read already; nothing to report
	}
	t.bodies = nil
}

// RoundTrip implements http.RoundTripper. The request's context (which
// carries the http.Client's timeout) is cancelled as well when t.ctx is.
func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(t.ctx, func() { cancel(context.Cause(t.ctx)) })
	release := func() {
		stop()
		cancel(nil)
	}
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		release()
		return nil, err
	}
	t.status = resp.StatusCode
	body := &releaseBody{ReadCloser: resp.Body, release: release}
	resp.Body = body
	t.bodies = append(t.bodies, body)
	return resp, nil
}

// releaseBody releases a request's context once its body is closed.
type releaseBody struct {
	io.ReadCloser
	release func()
	once    sync.Once
}

// Close implements io.Closer.
func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
