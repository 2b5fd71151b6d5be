package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/internal/contract"
)

// send records a new attempt, runs SendCode for it and opens its step: the
// step ends on a receipt, a failed send or the plan's step timeout.
func (v *verification) send(ctx workflow.Context, req *sendRequest) {
	d := &v.delivery
	d.closeStep()
	now := workflow.Now(ctx)
	v.state.Attempts = append(v.state.Attempts, contract.Attempt{
		Seq: len(v.state.Attempts) + 1, Channel: req.channel, Status: contract.AttemptSending, UpdatedAt: now,
	})
	idx := len(v.state.Attempts) - 1
	v.state.Sends++
	v.state.LastSendAt = now
	v.state.Channel = req.channel
	d.openStep(idx, req.planIdx, v.stepGoal(ctx, req.channel))
	v.upsertSearch(ctx)
	v.emit(ctx, contract.EventSending, req.channel, req.reason)
	if !v.localSends {
		v.project(ctx) // with local sends, projected with the result below
	}

	var res contract.SendResult
	// Checks that arrive while the send runs wait for its code's hash (see
	// check); sending stays set until the result is projected.
	d.sending = true
	defer func() { d.sending = false }()
	err := v.sendCode(ctx, contract.SendInput{
		VerificationID: v.in.ID, TenantID: v.in.TenantID, Mode: v.in.Mode, Kind: v.in.Kind,
		Seq: v.state.Attempts[idx].Seq, Channel: req.channel, To: v.in.To, Locale: v.in.Locale,
		CodeLength: v.in.Policy.Length, Generation: req.generation, TTL: v.in.Policy.TTL,
		Transaction: v.in.Transaction, Document: v.in.Document,
	}).Get(ctx, &res)

	a := &v.state.Attempts[idx]
	a.UpdatedAt = workflow.Now(ctx)
	if err != nil {
		a.Status = contract.AttemptFailed
		a.Error = deliveryError(err)
		v.emit(ctx, contract.EventSendFailed, a.Channel, string(a.Error))
		v.project(ctx)
		return
	}
	sentAt := a.UpdatedAt
	a.Provider, a.MessageID, a.SentAt = res.Provider, res.MessageID, &sentAt
	if a.Status.Rank() < contract.AttemptSent.Rank() {
		a.Status = contract.AttemptSent
	}
	d.accept(req.generation, res.CodeHash)
	v.emit(ctx, contract.EventSent, a.Channel, res.Provider)
	v.applyEarly(ctx, idx, res.MessageID)
	v.project(ctx)

	if !v.state.Status.Final() && d.stepOpen() {
		d.startTimer(ctx, v.in.Plan.StepTimeout)
	}
}

// sendCode runs SendCode: retries of a flaky provider stay within the
// step's time. With local sends it runs in the workflow task (no activity
// task, no extra workflow task before the code leaves); a retry after a
// lost task finds the send ledger's accepted message instead of sending
// again.
func (v *verification) sendCode(ctx workflow.Context, in contract.SendInput) workflow.Future {
	retry := &temporal.RetryPolicy{
		InitialInterval:        500 * time.Millisecond,
		BackoffCoefficient:     2,
		MaximumInterval:        5 * time.Second,
		NonRetryableErrorTypes: []string{contract.ErrTypeDeliveryFailed, contract.ErrTypeInvalidArgument},
	}
	return v.execute(ctx, contract.ActivitySendCode, v.in.Plan.StepTimeout, min(v.in.Plan.StepTimeout, 15*time.Second), retry, in)
}

// execute runs activity name, bounded by scheduleToClose overall and
// startToClose per attempt: a local activity with local sends (in the
// workflow task), a normal one in the histories before them.
func (v *verification) execute(ctx workflow.Context, name string, scheduleToClose, startToClose time.Duration,
	retry *temporal.RetryPolicy, in any) workflow.Future {
	if v.localSends {
		return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			ScheduleToCloseTimeout: scheduleToClose, StartToCloseTimeout: startToClose, RetryPolicy: retry,
		}), name, in)
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: scheduleToClose, StartToCloseTimeout: startToClose, RetryPolicy: retry,
	}), name, in)
}

// stepGoal is the goal of a step on channel ch: read when the plan asks
// for it and ch reports reads, delivered otherwise. Histories from before
// channel goals never ask for read, so never reach the version marker.
func (v *verification) stepGoal(ctx workflow.Context, ch contract.Channel) contract.ChannelGoal {
	if v.in.Plan.Goal == contract.GoalRead && ch.ReportsReads() &&
		v.changed(ctx, changeChannelGoalRead) {
		return contract.GoalRead
	}
	return contract.GoalDelivered
}

// resolveStep ends the current step: when its attempt reached the step's
// goal it stays on the channel; on failure, timeout or (goal read) a
// delivered message left unread, it fails over to the next channel, if any.
func (v *verification) resolveStep(ctx workflow.Context) {
	d := &v.delivery
	s := d.step
	d.closeStep()
	a := &v.state.Attempts[s.attempt]
	if s.reached(*a) {
		return
	}
	reason := contract.ReasonTimeout
	switch {
	case a.Status.Failed():
		reason = a.Error
		if reason == "" {
			reason = contract.ReasonOf(a.Status)
		}
	case a.Status.Delivered():
		// Only a read goal leaves a delivered step unreached.
		reason = contract.ReasonNotRead
	}
	next := v.nextChannel(s.planIdx + 1)
	if next < 0 || v.state.Sends >= v.in.Policy.MaxSends {
		return // nothing more to try: wait for checks, expiry, or all failed
	}
	if reason == contract.ReasonNotRead {
		// The attempt says why it was left (its status stays delivered).
		a.Error, a.UpdatedAt = reason, workflow.Now(ctx)
	}
	v.emit(ctx, contract.EventFailedOver, a.Channel, string(reason))
	d.queue(&sendRequest{channel: v.in.Plan.Channels[next], planIdx: next, reason: reasonFailover, generation: d.generation(false)})
}

// nextChannel returns the first plan index at or after from whose channel
// has a destination, or -1.
func (v *verification) nextChannel(from int) int {
	for i := from; i < len(v.in.Plan.Channels); i++ {
		if v.in.Plan.Channels[i].Destination(v.in.To) != "" {
			return i
		}
	}
	return -1
}

// deliveryError turns a failed send into a stable, client-safe reason.
func deliveryError(err error) contract.FailureReason {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == contract.ErrTypeDeliveryFailed {
		var reason contract.FailureReason
		if appErr.HasDetails() && appErr.Details(&reason) == nil && reason != "" {
			return reason
		}
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return contract.ReasonProviderTimeout
	}
	return contract.ReasonProviderError
}
