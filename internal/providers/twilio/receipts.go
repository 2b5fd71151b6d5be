package twilio

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/veriflow/veriflow/internal/contract"
)

// SignatureVerifier checks the X-Twilio-Signature of Twilio's webhook
// requests against the primary and the secondary auth token, so that the
// auth token can be rotated without downtime. It is safe for concurrent use.
type SignatureVerifier struct {
	validators []client.RequestValidator
}

// NewSignatureVerifier returns a verifier accepting signatures made with
// primary or secondary. Empty tokens are ignored; with none, Verify is
// always false.
func NewSignatureVerifier(primary, secondary string) *SignatureVerifier {
	v := &SignatureVerifier{}
	for _, token := range []string{primary, secondary} {
		if token != "" {
			v.validators = append(v.validators, client.NewRequestValidator(token))
		}
	}
	return v
}

// Verify reports whether signature is Twilio's signature of a POST to
// fullURL (the URL Twilio called, with scheme, host, path and query) with
// the form parameters form, under one of the tokens. An empty signature is
// never valid. Of a parameter sent more than once only the first value is
// checked; Twilio's status callbacks have none such.
func (v *SignatureVerifier) Verify(fullURL string, form url.Values, signature string) bool {
	if signature == "" || v == nil {
		return false
	}
	params := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) > 0 {
			params[k] = vs[0]
		}
	}
	ok := false
	for i := range v.validators {
		// No early exit: the work does not depend on which token matches.
		if v.validators[i].Validate(fullURL, params, signature) {
			ok = true
		}
	}
	return ok
}

// ErrInvalidCallback is wrapped by ParseStatusCallback's errors.
var ErrInvalidCallback = errors.New("twilio: invalid status callback")

// ParseStatusCallback turns the form of a Twilio message status callback
// (MessageSid, MessageStatus and, for failures, ErrorCode) into a receipt.
//
// Statuses are normalized: accepted, scheduled and queued → queued;
// sending and sent → sent; delivered; read; undelivered; failed and
// canceled → failed. Any other status (inbound receiving/received,
// partially_delivered) is an error. Error is ErrorReason's reason of
// ErrorCode, ReasonProviderError for a code missing from ErrorReason, and
// "" without a code.
func ParseStatusCallback(form url.Values) (contract.Receipt, error) {
	sid := form.Get("MessageSid")
	if sid == "" {
		return contract.Receipt{}, fmt.Errorf("%w: missing MessageSid", ErrInvalidCallback)
	}
	raw := form.Get("MessageStatus")
	if raw == "" {
		return contract.Receipt{}, fmt.Errorf("%w: missing MessageStatus", ErrInvalidCallback)
	}
	status, ok := normalizeStatus(raw)
	if !ok {
		return contract.Receipt{}, fmt.Errorf("%w: unknown MessageStatus %q", ErrInvalidCallback, truncate(raw, 32))
	}
	var reason contract.FailureReason
	if c := form.Get("ErrorCode"); c != "" {
		code, err := strconv.Atoi(c)
		if err != nil || code < 0 {
			return contract.Receipt{}, fmt.Errorf("%w: ErrorCode %q is not a number", ErrInvalidCallback, truncate(c, 32))
		}
		if code != 0 {
			if reason, _ = ErrorReason(code); reason == "" {
				reason = contract.ReasonProviderError
			}
		}
	}
	return contract.Receipt{
		Provider:   Name,
		MessageID:  sid,
		Status:     status,
		Error:      reason,
		OccurredAt: time.Now().UTC(),
	}, nil
}

// normalizeStatus maps a Twilio message status to an attempt status.
func normalizeStatus(s string) (contract.AttemptStatus, bool) {
	switch s {
	case "accepted", "scheduled", "queued":
		return contract.AttemptQueued, true
	case "sending", "sent":
		return contract.AttemptSent, true
	case "delivered":
		return contract.AttemptDelivered, true
	case "read":
		return contract.AttemptRead, true
	case "undelivered":
		return contract.AttemptUndelivered, true
	case "failed", "canceled":
		return contract.AttemptFailed, true
	}
	return "", false
}

// truncate shortens s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
