package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/store"
)

// SendLedger is the durable record of each send attempt (store.Store): it
// makes SendCode call a provider at most once per attempt, or count the
// repeat. See docs/reliability.md, "Sends: at most once, or counted".
type SendLedger interface {
	ClaimSend(ctx context.Context, a store.SendAttempt) (store.SendClaim, error)
	LookupSend(ctx context.Context, key string) (store.SendClaim, bool, error)
	AcceptSend(ctx context.Context, key, messageID string) (bool, error)
	FailSend(ctx context.Context, key, reason string) error
	ReleaseSend(ctx context.Context, key string) error
	AppendEvent(ctx context.Context, verificationID, tenantID string, e contract.Event) error
}

// ErrTypeSendInProgress is the (retryable) application error type of a
// SendCode attempt that found another attempt of the same send calling
// the provider: Temporal retries it, and the retry finds the outcome.
const ErrTypeSendInProgress = "SendInProgress"

// reasonNotStored is the failure of a send whose verification Postgres
// does not hold (store.ErrNoVerification). No client sees it: such a
// verification has no row to project into.
const reasonNotStored contract.FailureReason = "verification_not_stored"

// defaultSendLease bounds a provider call when the activity has no
// deadline (SendCode's attempts have one: at most 15 s).
const defaultSendLease = 30 * time.Second

// sendLease is how long a provider call of this attempt may last: until
// the activity's deadline (the provider's HTTP client gives up before),
// plus a second of slack for clocks and the ledger's own writes.
func sendLease(ctx context.Context) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return defaultSendLease
	}
	return max(time.Until(d), 0) + time.Second
}

// ledgered is a send's outcome when the ledger already holds it.
type ledgered struct {
	done     bool // the provider is not to be called: res or err is the answer
	res      providers.Result
	provider string
	err      error
}

// claimSend applies the rule of docs/reliability.md before a provider
// call:
//
//   - accepted before: the stored message id, no call;
//   - failed for good before: the same permanent failure, no call;
//   - another attempt is calling and its lease runs: a retryable error
//     (ErrTypeSendInProgress), no call;
//   - calling, but its lease ran out (a crash, a timeout, an error with no
//     answer): the message may have gone out and we cannot know. We send
//     again — a code that never arrives fails the user for sure, a second
//     copy of the same code does not — and count it:
//     veriflow_send_uncertain_total{provider}, a "send_uncertain" audit
//     event and a warning in the log.
func (a *Activities) claimSend(ctx context.Context, in contract.SendInput, key, provider string) (ledgered, error) {
	c, err := a.Ledger.ClaimSend(ctx, store.SendAttempt{Key: key, VerificationID: in.VerificationID,
		TenantID: in.TenantID, Provider: provider, Lease: sendLease(ctx)})
	if errors.Is(err, store.ErrNoVerification) {
		// The API gave this verification up (its start timed out, yet the
		// workflow runs) and the client's retry made another one for the
		// same destination: a code from this workflow would be a duplicate
		// message no one counts. Refused for good, so the workflow ends.
		a.Log.WarnContext(ctx, "send refused: the verification is not stored (its start was given up)",
			"verification_id", in.VerificationID, "tenant_id", in.TenantID, "channel", in.Channel)
		return ledgered{}, temporal.NewNonRetryableApplicationError("the verification is not stored: no send",
			contract.ErrTypeDeliveryFailed, nil, reasonNotStored)
	}
	if err != nil {
		return ledgered{}, err
	}
	switch {
	case c.Claimed && c.Uncertain:
		a.Metrics.ObserveSendUncertain(provider)
		a.Log.WarnContext(ctx, "send repeated after a lost provider answer: possible duplicate message",
			"verification_id", in.VerificationID, "tenant_id", in.TenantID, "channel", in.Channel,
			"provider", provider, "calls", c.Calls)
		ev := contract.Event{Type: contract.EventSendUncertain, Channel: in.Channel, Detail: provider, At: time.Now().UTC()}
		if err := a.Ledger.AppendEvent(ctx, in.VerificationID, in.TenantID, ev); err != nil {
			// Counted in the metric and the log; the send goes on.
			a.Log.WarnContext(ctx, "audit send_uncertain", "verification_id", in.VerificationID, "error", err)
		}
		return ledgered{}, nil
	case c.Claimed:
		return ledgered{}, nil
	case c.State == store.SendAccepted:
		return ledgered{done: true, res: providers.Result{MessageID: c.MessageID}, provider: c.Provider}, nil
	case c.State == store.SendFailed:
		reason := contract.FailureReason(c.Reason)
		return ledgered{done: true, provider: c.Provider, err: temporal.NewNonRetryableApplicationError(c.Reason,
			contract.ErrTypeDeliveryFailed, nil, reason)}, nil
	default: // calling under another attempt's lease
		return ledgered{done: true, provider: c.Provider, err: temporal.NewApplicationError(
			"another attempt of this send is calling the provider", ErrTypeSendInProgress)}, nil
	}
}

// settleSend records the provider's answer to a claimed call.
func (a *Activities) settleSend(ctx context.Context, in contract.SendInput, key string, res providers.Result, sendErr error) error {
	if sendErr == nil {
		ok, err := a.Ledger.AcceptSend(ctx, key, res.MessageID)
		if err == nil && !ok {
			a.Log.WarnContext(ctx, "send accepted after another attempt settled it", "verification_id", in.VerificationID,
				"message_id", res.MessageID)
		}
		return err
	}
	var perm *providers.PermanentError
	if errors.As(sendErr, &perm) {
		return a.Ledger.FailSend(ctx, key, string(perm.Reason))
	}
	// No answer we can trust (a timeout, a network error, a 429 or 5xx):
	// whether the message went out is unknown, so the next attempt takes
	// the send over at once and counts it as uncertain.
	return a.Ledger.ReleaseSend(ctx, key)
}
