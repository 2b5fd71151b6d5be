package twiliovoice

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

// ErrInvalidCallback is wrapped by ParseCallStatus's errors.
var ErrInvalidCallback = errors.New("twiliovoice: invalid call status callback")

// ParseCallStatus turns the form of a Twilio call status callback (CallSid,
// CallStatus, and AnsweredBy when answering-machine detection ran) into a
// receipt. amd says whether this deployment asks for machine detection.
//
//	CallStatus            receipt
//	queued                queued
//	initiated, ringing    sent (informational)
//	in-progress           delivered; with amd, sent until AnsweredBy is known
//	completed             delivered (Twilio's "completed" means answered)
//	busy                  failed, busy
//	no-answer             failed, no_answer
//	failed                failed, call_failed (or the reason of a known ErrorCode)
//	canceled              failed, call_canceled
//
// An answered or completed call whose AnsweredBy is machine_* or fax is
// failed with answering_machine (whatever amd says: Twilio sends AnsweredBy
// only when detection ran); human and unknown count as answered. Any other
// status is an error.
func ParseCallStatus(form url.Values, amd bool) (contract.Receipt, error) {
	sid := form.Get("CallSid")
	if sid == "" {
		return contract.Receipt{}, fmt.Errorf("%w: missing CallSid", ErrInvalidCallback)
	}
	raw := form.Get("CallStatus")
	if raw == "" {
		return contract.Receipt{}, fmt.Errorf("%w: missing CallStatus", ErrInvalidCallback)
	}
	rc := contract.Receipt{Provider: Name, MessageID: sid, OccurredAt: time.Now().UTC()}
	answeredBy := form.Get("AnsweredBy")
	machine := answeredBy == "fax" || strings.HasPrefix(answeredBy, "machine_")
	switch raw {
	case "queued":
		rc.Status = contract.AttemptQueued
	case "initiated", "ringing":
		rc.Status = contract.AttemptSent
	case "in-progress", "completed":
		switch {
		case machine:
			rc.Status, rc.Error = contract.AttemptFailed, contract.ReasonAnsweringMachine
		case amd && answeredBy == "" && raw != "completed":
			// Detection has not decided yet: completed will say.
			rc.Status = contract.AttemptSent
		default:
			rc.Status = contract.AttemptDelivered
		}
	case "busy":
		rc.Status, rc.Error = contract.AttemptFailed, contract.ReasonBusy
	case "no-answer":
		rc.Status, rc.Error = contract.AttemptFailed, contract.ReasonNoAnswer
	case "canceled":
		rc.Status, rc.Error = contract.AttemptFailed, contract.ReasonCallCanceled
	case "failed":
		rc.Status, rc.Error = contract.AttemptFailed, contract.ReasonCallFailed
		if c := form.Get("ErrorCode"); c != "" {
			code, err := strconv.Atoi(c)
			if err != nil || code < 0 {
				return contract.Receipt{}, fmt.Errorf("%w: ErrorCode %q is not a number", ErrInvalidCallback, truncate(c, 32))
			}
			if reason, _ := ErrorReason(code); reason != "" {
				rc.Error = reason
			}
		}
	default:
		return contract.Receipt{}, fmt.Errorf("%w: unknown CallStatus %q", ErrInvalidCallback, truncate(raw, 32))
	}
	return rc, nil
}

// truncate shortens s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
