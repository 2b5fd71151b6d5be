package meta

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

// Limits on webhook input. A handler should read at most MaxWebhookBytes
// of a body (http.MaxBytesReader) before verifying and parsing it.
const (
	MaxWebhookBytes    = 4 << 20
	MaxWebhookStatuses = 1000
)

// signaturePrefix starts the X-Hub-Signature-256 header.
const signaturePrefix = "sha256="

// VerifySignature reports whether header, the X-Hub-Signature-256 of a
// webhook, is "sha256=" followed by the hex HMAC-SHA256 of the raw body
// keyed with appSecret. The comparison is constant-time; an empty secret,
// an empty or malformed header is false.
func VerifySignature(appSecret string, body []byte, header string) bool {
	if appSecret == "" {
		return false
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), signaturePrefix)
	if !ok || len(hexSig) != 2*sha256.Size {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Challenge answers the webhook subscription check, a GET with
// hub.mode=subscribe, hub.verify_token and hub.challenge: it returns the
// challenge to write back (as text/plain, with 200) and true when the mode
// is subscribe and the token equals verifyToken (constant-time); otherwise
// "" and false (answer 403). An empty verifyToken never matches.
func Challenge(q url.Values, verifyToken string) (string, bool) {
	if verifyToken == "" || q.Get("hub.mode") != "subscribe" {
		return "", false
	}
	challenge := q.Get("hub.challenge")
	if !validChallenge(challenge) {
		return "", false
	}
	// Hashing first keeps the comparison constant-time in the length too.
	got := sha256.Sum256([]byte(q.Get("hub.verify_token")))
	want := sha256.Sum256([]byte(verifyToken))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return "", false
	}
	return challenge, true
}

// webhookPayload is the part of a Cloud API notification Veriflow reads.
type webhookPayload struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Statuses []webhookStatus `json:"statuses"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type webhookStatus struct {
	ID        string          `json:"id"`
	Status    string          `json:"status"`
	Timestamp json.RawMessage `json:"timestamp"`
	Errors    []struct {
		Code int `json:"code"`
	} `json:"errors"`
}

// ParseWebhook reads a WhatsApp Cloud API notification (object
// "whatsapp_business_account") into receipts: one per
// entry[].changes[].value.statuses[] whose status is sent, delivered, read
// or failed (others, such as "deleted", are skipped), with the message id,
// the time of the status and, for failed, the reason of errors[0].code
// (ErrorReason; "delivery_failed" without errors). Inbound messages and
// other fields are ignored. Malformed JSON, another object, a delivery
// status without an id or a valid timestamp, a body over MaxWebhookBytes
// or more than MaxWebhookStatuses statuses are errors. Verify the signature first.
func ParseWebhook(body []byte) ([]contract.Receipt, error) {
	if len(body) > MaxWebhookBytes {
		return nil, fmt.Errorf("meta webhook: body of %d bytes exceeds %d", len(body), MaxWebhookBytes)
	}
	// Bound the work before decoding: every status is an object, so a body
	// with far more objects than MaxWebhookStatuses allows is refused
	// without allocating them.
	if n := bytes.Count(body, []byte("{")); n > 8*MaxWebhookStatuses+64 {
		return nil, fmt.Errorf("meta webhook: %d objects exceed the limit", n)
	}
	var p webhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("meta webhook: %w", err)
	}
	if p.Object != "whatsapp_business_account" {
		return nil, fmt.Errorf("meta webhook: object %q is not whatsapp_business_account", clip(p.Object))
	}
	n := 0
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			n += len(c.Value.Statuses)
		}
	}
	if n > MaxWebhookStatuses {
		return nil, fmt.Errorf("meta webhook: %d statuses exceed %d", n, MaxWebhookStatuses)
	}
	receipts := make([]contract.Receipt, 0, n)
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			for _, s := range c.Value.Statuses {
				r, ok, err := receipt(s)
				if err != nil {
					return nil, err
				}
				if ok {
					receipts = append(receipts, r)
				}
			}
		}
	}
	return receipts, nil
}

// receipt converts one status; false means it is not a delivery status.
func receipt(s webhookStatus) (contract.Receipt, bool, error) {
	var st contract.AttemptStatus
	switch s.Status {
	case "sent":
		st = contract.AttemptSent
	case "delivered":
		st = contract.AttemptDelivered
	case "read":
		st = contract.AttemptRead
	case "failed":
		st = contract.AttemptFailed
	default:
		return contract.Receipt{}, false, nil
	}
	if s.ID == "" {
		return contract.Receipt{}, false, errors.New("meta webhook: status without id")
	}
	at, err := unixTime(s.Timestamp)
	if err != nil {
		return contract.Receipt{}, false, fmt.Errorf("meta webhook: status %s: %w", clip(s.ID), err)
	}
	r := contract.Receipt{Provider: Name, MessageID: s.ID, Status: st, OccurredAt: at}
	if st == contract.AttemptFailed {
		r.Error = contract.ReasonDeliveryFailed
		if len(s.Errors) > 0 {
			r.Error, _ = ErrorReason(s.Errors[0].Code)
		}
	}
	return r, true, nil
}

// unixTime parses a timestamp of unix seconds, sent as a string ("1700000000")
// or, leniently, as a number.
func unixTime(raw json.RawMessage) (time.Time, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return time.Time{}, errors.New("timestamp is not unix seconds")
		}
		s = n.String()
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || sec <= 0 || sec > 1<<40 {
		return time.Time{}, errors.New("timestamp is not unix seconds")
	}
	return time.Unix(sec, 0).UTC(), nil
}
