package events

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
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

// Types are the contract's event types, the only ones sent out.
var Types = []contract.EventType{contract.EventSent, contract.EventDelivered, contract.EventFailedOver, contract.EventApproved,
	contract.EventExpired, contract.EventCanceled, contract.EventMaxChecksReached, contract.EventFailed}

// IsOutbound reports whether a workflow audit event is a contract event.
// "failed" counts only as the verification's final status (no channel): an
// attempt's "failed" receipt is not a state change of the verification — it
// leads to "failed_over" or to the final "failed".
func IsOutbound(e contract.Event) bool {
	switch e.Type {
	case contract.EventSent, contract.EventDelivered, contract.EventFailedOver, contract.EventApproved,
		contract.EventExpired, contract.EventCanceled, contract.EventMaxChecksReached:
		return true
	case contract.EventFailed:
		return e.Channel == ""
	}
	return false
}

// EventIDPrefix starts every public event id.
const EventIDPrefix = "evt_"

// EventID is the public id of an outbound event row.
func EventID(id int64) string { return EventIDPrefix + strconv.FormatInt(id, 10) }

// ParseEventID is the inverse of EventID.
func ParseEventID(s string) (int64, bool) {
	n, ok := strings.CutPrefix(s, EventIDPrefix)
	if !ok || n == "" || len(n) > 19 {
		return 0, false
	}
	id, err := strconv.ParseInt(n, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != n {
		return 0, false
	}
	return id, true
}

// WorkflowID is the id of the DeliverEvent workflow of an event. It names
// the verification (a globally unique ULID), since event ids are unique only
// within one Veriflow database and a Temporal namespace may outlive it.
func WorkflowID(verificationID string, id int64) string {
	return WorkflowIDPrefix(verificationID) + strconv.FormatInt(id, 10)
}

// WorkflowIDPrefix is what WorkflowID puts before the event's id.
func WorkflowIDPrefix(verificationID string) string { return "event/" + verificationID + "/" }

// ResendWorkflowID is the id of the DeliverEvent workflow of a resend.
func ResendWorkflowID(verificationID string, id int64, at time.Time) string {
	return WorkflowID(verificationID, id) + "/resend/" + strconv.FormatInt(at.UnixNano(), 10)
}

// Attempt is an attempt as an event shows it: no destination, no provider ids.
type Attempt struct {
	Channel contract.Channel       `json:"channel"`
	Status  contract.AttemptStatus `json:"status"`
	Error   contract.FailureReason `json:"error,omitempty"`
}

// Data is the verification's state in an event.
type Data struct {
	Status     contract.Status  `json:"status"`
	Channel    contract.Channel `json:"channel,omitempty"`
	ChecksLeft int              `json:"checks_left"`
	Attempts   []Attempt        `json:"attempts"`
}

// Event is the JSON body POSTed to a callback.
type Event struct {
	ID             string             `json:"id"`
	Type           contract.EventType `json:"type"`
	VerificationID string             `json:"verification_id"`
	CreatedAt      time.Time          `json:"created_at"`
	// Version is the verification's state version data shows: events may
	// arrive out of order, the one with the highest version is the latest.
	Version int64 `json:"version"`
	Data    Data  `json:"data"`
}

// Body returns the JSON of event id, for event e of a verification in state st.
func Body(id int64, verificationID string, e contract.Event, st contract.State) ([]byte, error) {
	ch := e.Channel
	if ch == "" {
		ch = st.Channel
	}
	atts := make([]Attempt, 0, len(st.Attempts))
	for _, a := range st.Attempts {
		atts = append(atts, Attempt{Channel: a.Channel, Status: a.Status, Error: a.Error})
	}
	return json.Marshal(Event{
		ID: EventID(id), Type: e.Type, VerificationID: verificationID, CreatedAt: e.At.UTC(), Version: st.Version,
		Data: Data{Status: st.Status, Channel: ch, ChecksLeft: st.ChecksLeft, Attempts: atts},
	})
}

// BodyAround returns the JSON of an event of a verification in state st
// around its id, for a store that learns the id only as it inserts the row:
// Body(id, …) is head + EventID(id) + tail, byte for byte.
func BodyAround(verificationID string, e contract.Event, st contract.State) (head, tail []byte, err error) {
	const mark = `"id":"` + EventIDPrefix + `0"`
	b, err := Body(0, verificationID, e, st)
	if err != nil {
		return nil, nil, err
	}
	h, t, ok := bytes.Cut(b, []byte(mark))
	if !ok {
		return nil, nil, errors.New("events: body without its id")
	}
	head = append(h, `"id":"`...)
	tail = append([]byte{'"'}, t...)
	return head, tail, nil
}

// Sign returns the Veriflow-Signature header value of body at t:
// "t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// ErrSignature is returned by Verify for a missing, malformed, forged or
// stale signature.
var ErrSignature = errors.New("events: invalid signature")

// Verify checks a Veriflow-Signature header the way a receiver should: the
// HMAC in constant time, and t within tolerance of now.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp outside the tolerance", ErrSignature)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrSignature
}

// NewSecret returns a new signing secret: 32 random bytes, hex.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

// SecretAAD binds a sealed signing secret to its tenant.
func SecretAAD(tenantID string) string { return "tenant_callback/" + tenantID }

// MaxURLLen bounds a callback URL.
const MaxURLLen = 2048

// ValidateURL checks a callback URL: absolute https, or http to the local
// host only (tests, development); no credentials, no fragment.
func ValidateURL(raw string) error {
	if raw == "" {
		return errors.New("is required")
	}
	if len(raw) > MaxURLLen {
		return fmt.Errorf("must be at most %d characters", MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("must be an absolute http(s) URL")
	}
	if u.User != nil {
		return errors.New("must not hold credentials")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errors.New("must not have a fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		switch u.Hostname() {
		case "127.0.0.1", "localhost", "::1":
			return nil
		}
		return errors.New("must use https (http only to localhost)")
	}
	return errors.New("must be an absolute http(s) URL")
}
