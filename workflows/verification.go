// Package workflows holds the verification workflow: one Temporal workflow
// per verification, which supersedes older pending codes when asked, sends
// the code over the channels of its plan, follows delivery receipts, fails
// over, and answers checks, resends and cancels. Its files go by concern:
//
//   - verification.go: the entry point, the state and the main loop, whose
//     one decision is next();
//   - delivery.go: the failover state (queued send, current step, plan
//     cursor, codes sent) changed only through its methods;
//   - send.go: one send and the end of its step (stay or fail over);
//   - supersede.go: the durable supersede before the first send;
//   - receipts.go: delivery receipts, including those that race a send;
//   - updates.go: the check, resend and cancel updates and their validators;
//   - projection.go: the read model, events, search attributes and the
//     Temporal UI details.
//
// Workflows are deterministic: a change to the commands they record goes
// through workflow.GetVersion, and every history under testdata/histories
// must still replay.
package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/internal/contract"
)

// Verification is the workflow function of one verification. It returns the
// final state.
func Verification(ctx workflow.Context, in contract.VerificationInput) (contract.State, error) {
	if err := validateInput(in); err != nil {
		return contract.State{}, temporal.NewNonRetryableApplicationError(err.Error(), contract.ErrTypeInvalidArgument, nil)
	}
	v := &verification{
		in:       in,
		state:    contract.State{Status: contract.StatusPending, ChecksLeft: in.Policy.MaxChecks, Attempts: []contract.Attempt{}},
		delivery: newDelivery(),
		seen:     map[int64]bool{},
		early:    map[string][]contract.Receipt{},
	}
	if err := v.register(ctx); err != nil {
		return contract.State{}, err
	}
	return v.run(ctx)
}

func validateInput(in contract.VerificationInput) error {
	switch {
	case in.ID == "" || in.TenantID == "":
		return errors.New("id and tenant are required")
	case !in.Kind.Valid():
		return fmt.Errorf("unknown kind %q", in.Kind)
	case len(in.Plan.Channels) == 0 || in.Plan.StepTimeout <= 0:
		return errors.New("empty channel plan")
	case in.Policy.Length <= 0 || in.Policy.TTL <= 0 || in.Policy.MaxChecks <= 0 || in.Policy.MaxSends <= 0:
		return errors.New("incomplete code policy")
	}
	return nil
}

// verification is the state of one running workflow. Only the main loop
// sends and resolves steps; handlers and coroutines change the failover
// state through the methods of delivery and wake the loop by doing so.
type verification struct {
	in    contract.VerificationInput
	state contract.State

	delivery delivery

	seen  map[int64]bool                // receipt ids already applied
	early map[string][]contract.Receipt // receipts whose message id is not known yet
	// queued events waiting for the next projection into Postgres
	events []contract.Event
	// projections running (they may run in handlers and coroutines)
	inflight int
	// evidence waits for the next projection (approval of a signature)
	evidence *contract.EvidenceInput
	// localSends: the workflow runs with changeLocalSends (see updates.go)
	localSends bool
	// receiptBatches: the workflow runs with changeReceiptBatches
	receiptBatches bool
}

func (v *verification) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, contract.QueryState, func() (contract.State, error) {
		return v.state, nil
	}); err != nil {
		return fmt.Errorf("query handler: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateCheck, v.check,
		workflow.UpdateHandlerOptions{Validator: v.validateCheck}); err != nil {
		return fmt.Errorf("check handler: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateResend, v.resend,
		workflow.UpdateHandlerOptions{Validator: v.validateResend}); err != nil {
		return fmt.Errorf("resend handler: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateCancel, v.cancel,
		workflow.UpdateHandlerOptions{Validator: v.validateCancel}); err != nil {
		return fmt.Errorf("cancel handler: %w", err)
	}
	return nil
}

func (v *verification) run(ctx workflow.Context) (contract.State, error) {
	// First, before any other command: which shape this workflow has.
	v.recordShape(ctx)
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("%s verification, plan %v", v.in.Kind, v.in.Plan.Channels))
	v.emit(ctx, contract.EventCreated, "", "")
	if !v.localSends {
		v.project(ctx) // with local sends, the first send's projection carries it
	}

	// Receipts arrive as signals and are applied in their own coroutine.
	receipts := workflow.GetSignalChannel(ctx, contract.SignalReceipt)
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			var r contract.Receipt
			receipts.Receive(gctx, &r)
			changed := v.onReceipt(gctx, r)
			// With changeReceiptBatches, the other receipts of this
			// workflow task too: one projection for all of them.
			for v.receiptBatches && receipts.ReceiveAsync(&r) {
				changed = v.onReceipt(gctx, r) || changed
			}
			if changed {
				v.project(gctx)
			}
		}
	})

	// The code expires TTL after the verification was created.
	expiry := v.in.CreatedAt.Add(v.in.Policy.TTL).Sub(workflow.Now(ctx))
	workflow.Go(ctx, func(gctx workflow.Context) {
		if expiry > 0 {
			if err := workflow.Sleep(gctx, expiry); err != nil {
				return
			}
		}
		if !v.state.Status.Final() {
			v.finish(gctx, contract.StatusExpired, "")
		}
	})

	if first := v.nextChannel(0); first >= 0 {
		v.delivery.queue(&sendRequest{channel: v.in.Plan.Channels[first], planIdx: first, reason: reasonInitial})
		v.supersede(ctx)
	} else {
		v.finish(ctx, contract.StatusFailed, string(contract.ReasonNoDestination))
	}

	for {
		if err := workflow.Await(ctx, func() bool { return v.next() != actWait }); err != nil {
			return v.state, err
		}
		act := v.next()
		if act == actDone {
			break
		}
		v.do(ctx, act)
	}

	// Let running handlers and projections finish first.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && v.inflight == 0 }); err != nil {
		return v.state, err
	}
	return v.state, nil
}

// action is what the main loop must do next.
type action int

const (
	// actWait: nothing until a handler, a receipt or a timer changes the state.
	actWait action = iota
	// actSend: send the queued request.
	actSend
	// actResolveStep: the latest send's step ended (delivered, failed or
	// timed out): stay on its channel or fail over.
	actResolveStep
	// actFailAll: every attempt failed and nothing more will be tried.
	actFailAll
	// actDone: the verification is final.
	actDone
)

// next is the main loop's single decision: its wait condition is
// next() != actWait, and it does what next() returns.
func (v *verification) next() action {
	d := &v.delivery
	switch {
	case v.state.Status.Final():
		return actDone
	case d.queued():
		return actSend
	case d.stepOpen():
		if d.step.ended(v.state.Attempts[d.step.attempt]) {
			return actResolveStep
		}
		return actWait
	case v.everyAttemptFailed():
		return actFailAll
	}
	return actWait
}

// do carries out one action of the main loop.
func (v *verification) do(ctx workflow.Context, act action) {
	switch act {
	case actSend:
		v.send(ctx, v.delivery.take())
	case actResolveStep:
		v.resolveStep(ctx)
	case actFailAll:
		v.finish(ctx, contract.StatusFailed, string(contract.ReasonAllChannelsFailed))
	}
}

// everyAttemptFailed reports whether there was at least one attempt and
// every attempt failed.
func (v *verification) everyAttemptFailed() bool {
	for _, a := range v.state.Attempts {
		if !a.Status.Failed() {
			return false
		}
	}
	return len(v.state.Attempts) > 0
}

// finish makes the verification final (once): it stops the step's timer,
// updates the search attributes and projects the final state.
func (v *verification) finish(ctx workflow.Context, s contract.Status, detail string) {
	if v.state.Status.Final() {
		return
	}
	now := workflow.Now(ctx)
	v.state.Status = s
	v.state.CompletedAt = &now
	v.delivery.stopTimer()
	v.upsertSearch(ctx)
	v.emit(ctx, contract.StatusEvent(s), "", detail)
	v.project(ctx)
}
