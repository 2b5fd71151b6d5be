package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/otp"
)

// Change ids of workflow.GetVersion (see README, "Changing the workflow safely").
const (
	// changeCheckWaitsForSend: a check that arrives while a send is running
	// waits for its code hash (histories before it answered at once).
	changeCheckWaitsForSend = "check-waits-for-send"
	// changeCheckWaitsForFirstCode: a check that arrives before the first
	// code was sent (the first task was still projecting, a send queued or
	// a failover pending) waits for it (histories before it answered at
	// once, counting the check as wrong).
	changeCheckWaitsForFirstCode = "check-waits-for-first-code"
	// changeChannelGoalRead: with the plan's goal "read", a step on a
	// channel that reports reads ends successfully only on a read receipt,
	// and a delivered-but-unread message fails over with "not_read" when
	// the step times out (histories before it had no goal: delivered).
	changeChannelGoalRead = "channel-goal-read"
	// changeUpdateCommitsFirst: a check, resend or cancel makes its
	// acceptance durable (a short timer ends the workflow task) before it
	// changes the state, so its projection and events never run ahead of
	// the history (histories before it projected in the update's own,
	// possibly speculative, workflow task).
	changeUpdateCommitsFirst = "update-commits-first"
	// changeLocalSends is recorded once, first thing in a workflow, and
	// stands for every change above (a workflow with it never asks for
	// them, saving a marker and a search-attribute upsert each) and for
	// its own: the supersede and the send run as local activities — the
	// send ledger (activities/sendledger.go) makes a send retried after a
	// lost workflow task return the accepted message instead of sending
	// again — and a send is projected once, after it returns, with its
	// "sending" event (and the first one with "created").
	changeLocalSends = "local-sends"
	// changeReceiptBatches is recorded first thing in a workflow instead of
	// changeLocalSends and stands for it (and so for every change above)
	// and for its own: the receipts that arrive in one workflow task (a
	// delivered and a read receipt often do) are applied together and
	// projected once, not once each.
	changeReceiptBatches = "receipt-batches"
)

// recordShape records, first thing in a workflow, which shape it has:
// only the newest change id is asked for in a new workflow, so one marker
// (and one search-attribute upsert) stands for all of them. A history
// from before the newest change has no marker for it: GetVersion answers
// DefaultVersion without recording anything, and the older id is asked
// for, which its marker answers.
func (v *verification) recordShape(ctx workflow.Context) {
	if workflow.GetVersion(ctx, changeReceiptBatches, workflow.DefaultVersion, 1) == 1 {
		v.receiptBatches, v.localSends = true, true
		return
	}
	v.localSends = workflow.GetVersion(ctx, changeLocalSends, workflow.DefaultVersion, 1) == 1
}

// changed reports whether this workflow runs with change: always when it
// recorded changeLocalSends, else as workflow.GetVersion decides.
func (v *verification) changed(ctx workflow.Context, change string) bool {
	return v.localSends || workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1) == 1
}

// commitFirst ends the current workflow task before an update handler
// changes anything. An update arrives in a speculative workflow task: the
// server persists nothing of it until that task completes. Whatever the
// handler did inside it — a projection written to Postgres, an event
// queued for the tenant — would outlive a server crash that loses the
// task, while the workflow, replayed without the update, goes another way
// (approved in the read model, expired in Temporal). Awaiting a no-op
// activity makes the task complete with the update's acceptance and
// resumes the handler in the next one; what it records then follows from
// durable history. (A 1 ms timer would do the same, but the server fires
// timers on second boundaries: ~1 s per check.)
func (v *verification) commitFirst(ctx workflow.Context) error {
	if !v.changed(ctx, changeUpdateCommitsFirst) {
		return nil
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumInterval: 5 * time.Second},
		Summary:             "make the update durable before recording it",
	})
	return workflow.ExecuteActivity(actx, contract.ActivityCommit).Get(ctx, nil)
}

// firstCodeOnItsWay reports whether no code has been sent yet but one will
// be: nothing was sent, or a send is running or queued, or a failed send's
// step is not resolved yet (its failover is about to be queued).
func (v *verification) firstCodeOnItsWay() bool {
	if v.delivery.hasCode() || v.state.Status.Final() {
		return false
	}
	return v.state.Sends == 0 || v.delivery.busy()
}

func (v *verification) validateCheck(in contract.CheckInput) error {
	if v.state.Status.Final() {
		return temporal.NewApplicationError("verification is "+string(v.state.Status), contract.ErrTypeNotPending)
	}
	if !otp.ValidHash(in.CodeHash) {
		return temporal.NewApplicationError("malformed code hash", contract.ErrTypeInvalidArgument)
	}
	return nil
}

// check answers a code check: approved, wrong code or binding mismatch; a
// wrong one costs a check, the last one ends the verification.
func (v *verification) check(ctx workflow.Context, in contract.CheckInput) (contract.CheckResult, error) {
	// A provider may deliver the code before SendCode returns its hash: a
	// check in that gap waits for the send instead of counting as wrong.
	d := &v.delivery
	if d.sending && v.changed(ctx, changeCheckWaitsForSend) {
		if err := workflow.Await(ctx, func() bool { return !d.sending || v.state.Status.Final() }); err != nil {
			return contract.CheckResult{}, err
		}
	} else if v.firstCodeOnItsWay() && v.changed(ctx, changeCheckWaitsForFirstCode) {
		if err := workflow.Await(ctx, func() bool { return !v.firstCodeOnItsWay() }); err != nil {
			return contract.CheckResult{}, err
		}
	}
	if err := v.commitFirst(ctx); err != nil {
		return contract.CheckResult{}, err
	}
	if v.state.Status.Final() {
		return contract.CheckResult{Outcome: contract.CheckNotPending, State: cloneState(v.state)}, nil
	}
	var outcome contract.CheckOutcome
	switch {
	case !otp.Equal(in.BindingDigest, v.in.BindingDigest):
		outcome = contract.CheckBindingMismatch
	case d.valid(in.CodeHash):
		outcome = contract.CheckApproved
	default:
		outcome = contract.CheckWrongCode
	}
	if outcome == contract.CheckApproved {
		v.evidence = v.signatureEvidence(ctx)
		v.finish(ctx, contract.StatusApproved, "")
	} else {
		v.state.ChecksLeft--
		v.emit(ctx, contract.EventCheckFailed, "", string(outcome))
		if v.state.ChecksLeft <= 0 {
			v.state.ChecksLeft = 0
			v.finish(ctx, contract.StatusMaxChecksReached, "")
		} else {
			v.project(ctx)
		}
	}
	return contract.CheckResult{Outcome: outcome, State: cloneState(v.state)}, nil
}

// signatureEvidence describes an approved signature for its evidence
// record: the document, and the attempt whose code was used — the latest
// delivered one, else the latest sent.
func (v *verification) signatureEvidence(ctx workflow.Context) *contract.EvidenceInput {
	if v.in.Kind != contract.KindSignature || v.in.Document == nil || len(v.state.Attempts) == 0 {
		return nil
	}
	best := -1
	for i, a := range v.state.Attempts {
		if a.Status.Delivered() || (best < 0 || !v.state.Attempts[best].Status.Delivered()) && a.SentAt != nil {
			best = i
		}
	}
	if best < 0 {
		best = len(v.state.Attempts) - 1
	}
	a := v.state.Attempts[best]
	return &contract.EvidenceInput{
		Kind: v.in.Kind, Document: *v.in.Document, Channel: a.Channel, Destination: a.Channel.Destination(v.in.To),
		SentAt: a.SentAt, DeliveredAt: a.DeliveredAt, ApprovedAt: workflow.Now(ctx), ClientIP: v.in.ClientIP,
	}
}

// resendTarget picks the channel of a resend, or returns an error.
func (v *verification) resendTarget(ctx workflow.Context, in contract.ResendInput) (*sendRequest, error) {
	d := &v.delivery
	if v.state.Status.Final() {
		return nil, temporal.NewApplicationError("verification is "+string(v.state.Status), contract.ErrTypeNotPending)
	}
	if v.state.Sends >= v.in.Policy.MaxSends {
		return nil, temporal.NewApplicationError("send cap reached", contract.ErrTypeRateLimited, 0)
	}
	if d.queued() {
		return nil, temporal.NewApplicationError("a send is already queued", contract.ErrTypeRateLimited, 1)
	}
	if wait := v.state.LastSendAt.Add(v.in.Policy.ResendCooldown).Sub(workflow.Now(ctx)); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		return nil, temporal.NewApplicationError("resend cooldown", contract.ErrTypeRateLimited, secs)
	}
	gen := d.generation(v.in.Policy.NewCodeOnResend)
	if in.Channel == "" {
		next := v.nextChannel(d.cur + 1)
		if next < 0 {
			next = max(d.cur, 0)
		}
		return &sendRequest{channel: v.in.Plan.Channels[next], planIdx: next, reason: reasonResend, generation: gen}, nil
	}
	if !in.Channel.Valid() || in.Channel.Destination(v.in.To) == "" {
		return nil, temporal.NewApplicationError("channel has no destination", contract.ErrTypeInvalidArgument)
	}
	planIdx := d.cur
	for i, c := range v.in.Plan.Channels {
		if c == in.Channel {
			planIdx = i
			break
		}
	}
	return &sendRequest{channel: in.Channel, planIdx: planIdx, reason: reasonResend, generation: gen}, nil
}

func (v *verification) validateResend(ctx workflow.Context, in contract.ResendInput) error {
	_, err := v.resendTarget(ctx, in)
	return err
}

// resend queues a send for the main loop and answers once it is taken.
func (v *verification) resend(ctx workflow.Context, in contract.ResendInput) (contract.State, error) {
	if err := v.commitFirst(ctx); err != nil {
		return contract.State{}, err
	}
	// The target is chosen again: the state may have moved while the
	// acceptance was committed.
	req, err := v.resendTarget(ctx, in)
	if err != nil {
		return contract.State{}, err
	}
	v.delivery.queue(req)
	// Answer once the main loop has taken the request and recorded the new
	// attempt, so the response shows it.
	if err := workflow.Await(ctx, func() bool { return v.delivery.taken(req) || v.state.Status.Final() }); err != nil {
		return contract.State{}, err
	}
	return cloneState(v.state), nil
}

func (v *verification) validateCancel() error {
	if v.state.Status.Final() && v.state.Status != contract.StatusCanceled {
		return temporal.NewApplicationError("verification is "+string(v.state.Status), contract.ErrTypeNotPending)
	}
	return nil
}

// cancel ends the verification as canceled (a second cancel is a no-op).
func (v *verification) cancel(ctx workflow.Context) (contract.State, error) {
	if err := v.commitFirst(ctx); err != nil {
		return contract.State{}, err
	}
	v.finish(ctx, contract.StatusCanceled, "")
	return cloneState(v.state), nil
}
