// Package workflows holds the verification workflow: one Temporal workflow
// per verification, which sends the code over the channels of its plan,
// follows delivery receipts, fails over, and answers checks.
package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/otp"
)

// Verification is the workflow function of one verification. It returns the
// final state.
func Verification(ctx workflow.Context, in contract.VerificationInput) (contract.State, error) {
	if err := validateInput(in); err != nil {
		return contract.State{}, temporal.NewNonRetryableApplicationError(err.Error(), contract.ErrTypeInvalidArgument, nil)
	}
	v := &verification{
		in:    in,
		state: contract.State{Status: contract.StatusPending, ChecksLeft: in.Policy.MaxChecks, Attempts: []contract.Attempt{}},
		seen:  map[int64]bool{},
		early: map[string][]contract.Receipt{},
		cur:   -1,
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

// sendRequest asks the main loop to send the code over one channel.
type sendRequest struct {
	channel    contract.Channel
	planIdx    int // position in the plan the failover continues from
	reason     string
	generation int // the code's generation (a new code on resend increments it)
}

// step is the wait after one send: it ends on a delivery, on a failure or
// when its timer fires.
type step struct {
	attempt    int // index in state.Attempts
	planIdx    int
	timerFired bool
	resolved   bool
	cancel     workflow.CancelFunc
}

type verification struct {
	in    contract.VerificationInput
	state contract.State

	codeHashes []string
	codeGen    int  // generation of the codes in codeHashes
	sending    bool // a SendCode activity is running
	pending    *sendRequest
	step       *step
	cur        int // plan index of the latest send

	seen  map[int64]bool                // receipt ids already applied
	early map[string][]contract.Receipt // receipts whose message id is not known yet
	// queued events waiting for the next projection into Postgres
	events []contract.Event
	// projections running (they may run in handlers and coroutines)
	inflight int
	// evidence waits for the next projection (approval of a signature)
	evidence *contract.EvidenceInput
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
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("%s verification, plan %v", v.in.Kind, v.in.Plan.Channels))
	v.emit(ctx, contract.EventCreated, "", "")
	v.project(ctx)

	// Receipts arrive as signals and are applied in their own coroutine.
	receipts := workflow.GetSignalChannel(ctx, contract.SignalReceipt)
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			var r contract.Receipt
			receipts.Receive(gctx, &r)
			v.onReceipt(gctx, r)
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
		v.pending = &sendRequest{channel: v.in.Plan.Channels[first], planIdx: first, reason: "initial"}
	} else {
		v.finish(ctx, contract.StatusFailed, string(contract.ReasonNoDestination))
	}

	for !v.state.Status.Final() {
		if err := workflow.Await(ctx, v.wake); err != nil {
			return v.state, err
		}
		switch {
		case v.state.Status.Final():
		case v.pending != nil:
			req := v.pending
			v.pending = nil
			v.send(ctx, req)
		case v.step != nil && !v.step.resolved:
			v.resolveStep(ctx)
		default:
			v.finish(ctx, contract.StatusFailed, string(contract.ReasonAllChannelsFailed))
		}
	}

	// Let running handlers and projections finish first.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && v.inflight == 0 }); err != nil {
		return v.state, err
	}
	return v.state, nil
}

// wake is the main loop's wait condition.
func (v *verification) wake() bool {
	if v.state.Status.Final() || v.pending != nil {
		return true
	}
	if s := v.step; s != nil && !s.resolved {
		a := v.state.Attempts[s.attempt]
		return s.timerFired || a.Status.Failed() || a.Status.Delivered()
	}
	return v.allFailed()
}

// allFailed reports whether every attempt failed and nothing else will be
// tried automatically.
func (v *verification) allFailed() bool {
	if len(v.state.Attempts) == 0 || v.pending != nil || (v.step != nil && !v.step.resolved) {
		return false
	}
	for _, a := range v.state.Attempts {
		if !a.Status.Failed() {
			return false
		}
	}
	return true
}

// resolveStep ends the current step: on delivery it stays on the channel,
// on failure or timeout it fails over to the next channel, if any.
func (v *verification) resolveStep(ctx workflow.Context) {
	s := v.step
	s.resolved = true
	if s.cancel != nil {
		s.cancel()
	}
	a := v.state.Attempts[s.attempt]
	if a.Status.Delivered() {
		return
	}
	reason := contract.ReasonTimeout
	if a.Status.Failed() {
		reason = a.Error
		if reason == "" {
			reason = contract.ReasonOf(a.Status)
		}
	}
	next := v.nextChannel(s.planIdx + 1)
	if next < 0 || v.state.Sends >= v.in.Policy.MaxSends {
		return // nothing more to try: wait for checks, expiry, or all failed
	}
	v.emit(ctx, contract.EventFailedOver, a.Channel, string(reason))
	v.pending = &sendRequest{channel: v.in.Plan.Channels[next], planIdx: next, reason: "failover", generation: v.codeGen}
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

func (v *verification) send(ctx workflow.Context, req *sendRequest) {
	if v.step != nil && !v.step.resolved {
		v.step.resolved = true
		if v.step.cancel != nil {
			v.step.cancel()
		}
	}
	now := workflow.Now(ctx)
	v.state.Attempts = append(v.state.Attempts, contract.Attempt{
		Seq: len(v.state.Attempts) + 1, Channel: req.channel, Status: contract.AttemptSending, UpdatedAt: now,
	})
	idx := len(v.state.Attempts) - 1
	v.state.Sends++
	v.state.LastSendAt = now
	v.state.Channel = req.channel
	v.cur = req.planIdx
	v.step = &step{attempt: idx, planIdx: req.planIdx}
	v.upsertSearch(ctx)
	v.emit(ctx, contract.EventSending, req.channel, req.reason)
	v.project(ctx)

	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// Retries of a flaky provider stay within the step's time.
		ScheduleToCloseTimeout: v.in.Plan.StepTimeout,
		StartToCloseTimeout:    min(v.in.Plan.StepTimeout, 15*time.Second),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        500 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Second,
			NonRetryableErrorTypes: []string{contract.ErrTypeDeliveryFailed, contract.ErrTypeInvalidArgument},
		},
	})
	var res contract.SendResult
	v.sending = true
	defer func() { v.sending = false }()
	err := workflow.ExecuteActivity(actx, contract.ActivitySendCode, contract.SendInput{
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
	switch {
	case !otp.ValidHash(res.CodeHash):
	case req.generation > v.codeGen:
		// A new code replaces the ones sent before.
		v.codeHashes, v.codeGen = []string{res.CodeHash}, req.generation
	case !containsHash(v.codeHashes, res.CodeHash):
		v.codeHashes = append(v.codeHashes, res.CodeHash)
	}
	v.emit(ctx, contract.EventSent, a.Channel, res.Provider)
	// Receipts that raced the send are applied now that the id is known.
	buffered := v.early[res.MessageID]
	delete(v.early, res.MessageID)
	for _, r := range buffered {
		v.applyReceipt(ctx, idx, r)
	}
	v.project(ctx)

	if !v.state.Status.Final() && !v.step.resolved {
		s := v.step
		tctx, cancel := workflow.WithCancel(ctx)
		s.cancel = cancel
		workflow.Go(tctx, func(gctx workflow.Context) {
			if workflow.Sleep(gctx, v.in.Plan.StepTimeout) == nil {
				s.timerFired = true
			}
		})
	}
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

func containsHash(hashes []string, h string) bool {
	found := false
	for _, x := range hashes {
		found = otp.Equal(x, h) || found
	}
	return found
}

func (v *verification) onReceipt(ctx workflow.Context, r contract.Receipt) {
	if r.ID != 0 {
		if v.seen[r.ID] {
			return
		}
		v.seen[r.ID] = true
	}
	if !r.Status.Valid() || r.MessageID == "" {
		return
	}
	for i := range v.state.Attempts {
		if v.state.Attempts[i].MessageID == r.MessageID {
			if v.applyReceipt(ctx, i, r) {
				v.project(ctx)
			}
			return
		}
	}
	// The send has not returned yet: keep the receipt until it does.
	v.early[r.MessageID] = append(v.early[r.MessageID], r)
}

// applyReceipt moves attempt i forward; a receipt never moves it backwards,
// so duplicates and out-of-order receipts are harmless. It reports whether
// anything changed.
func (v *verification) applyReceipt(ctx workflow.Context, i int, r contract.Receipt) bool {
	a := &v.state.Attempts[i]
	if r.Status.Rank() <= a.Status.Rank() || (a.Status.Failed() && r.Status.Delivered()) {
		return false
	}
	a.Status = r.Status
	if r.Status.Failed() {
		a.Error = r.Error
		if a.Error == "" {
			a.Error = contract.ReasonOf(r.Status)
		}
	}
	a.UpdatedAt = workflow.Now(ctx)
	if r.Status.Delivered() && a.DeliveredAt == nil {
		at := a.UpdatedAt
		a.DeliveredAt = &at
	}
	v.emit(ctx, contract.AttemptEvent(r.Status), a.Channel, string(r.Error))
	return true
}

func (v *verification) finish(ctx workflow.Context, s contract.Status, detail string) {
	if v.state.Status.Final() {
		return
	}
	now := workflow.Now(ctx)
	v.state.Status = s
	v.state.CompletedAt = &now
	if v.step != nil && v.step.cancel != nil {
		v.step.cancel()
	}
	v.upsertSearch(ctx)
	v.emit(ctx, contract.StatusEvent(s), "", detail)
	v.project(ctx)
}

// upsertSearch brings the search attributes up to date. When they already
// are (the API sets the first channel at start), it issues nothing: an
// upsert is a history event and a visibility write. Starts without the
// channel attribute (older histories) upsert exactly as before.
func (v *verification) upsertSearch(ctx workflow.Context) {
	sa := workflow.GetTypedSearchAttributes(ctx)
	status, _ := sa.GetKeyword(contract.SAStatus)
	channel, _ := sa.GetKeyword(contract.SAChannel)
	if status == string(v.state.Status) && channel == string(v.state.Channel) {
		return
	}
	updates := []temporal.SearchAttributeUpdate{contract.SAStatus.ValueSet(string(v.state.Status))}
	if v.state.Channel != "" {
		updates = append(updates, contract.SAChannel.ValueSet(string(v.state.Channel)))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("upsert search attributes", "error", err)
	}
}

func (v *verification) emit(ctx workflow.Context, typ contract.EventType, ch contract.Channel, detail string) {
	v.events = append(v.events, contract.Event{Type: typ, Channel: ch, Detail: detail, At: workflow.Now(ctx)})
}

// project writes the state and the queued events to Postgres with a local
// activity. Each projection carries a higher version, so the read model
// never goes backwards even if two projections race.
func (v *verification) project(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, v.details())
	v.state.Version++
	in := contract.RecordInput{
		VerificationID: v.in.ID, TenantID: v.in.TenantID, Kind: v.in.Kind,
		State: cloneState(v.state), Events: v.events, Evidence: v.evidence,
	}
	v.events, v.evidence = nil, nil
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 10 * time.Minute,
		StartToCloseTimeout:    10 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, MaximumInterval: 10 * time.Second},
	})
	v.inflight++
	defer func() { v.inflight-- }()
	if err := workflow.ExecuteLocalActivity(lctx, contract.ActivityRecord, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("projection failed", "error", err)
	}
}

// details reads like "whatsapp failed (not_on_whatsapp) → sms delivered →
// approved" for the Temporal UI; it holds no destination and no code.
func (v *verification) details() string {
	parts := make([]string, 0, len(v.state.Attempts)+1)
	for _, a := range v.state.Attempts {
		p := string(a.Channel) + " " + string(a.Status)
		if a.Error != "" {
			p += " (" + string(a.Error) + ")"
		}
		parts = append(parts, p)
	}
	if v.state.Status != contract.StatusPending || len(parts) == 0 {
		parts = append(parts, string(v.state.Status))
	}
	return fmt.Sprintf("%s: %s; %d checks left", v.in.Kind, strings.Join(parts, " → "), v.state.ChecksLeft)
}

func cloneState(s contract.State) contract.State {
	s.Attempts = append([]contract.Attempt(nil), s.Attempts...)
	return s
}

// --- updates ---

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
)

// firstCodeOnItsWay reports whether no code has been sent yet but one will
// be: nothing was sent, or a send is running or queued, or a failed send's
// step is not resolved yet (its failover is about to be queued).
func (v *verification) firstCodeOnItsWay() bool {
	if len(v.codeHashes) > 0 || v.state.Status.Final() {
		return false
	}
	return v.state.Sends == 0 || v.sending || v.pending != nil || (v.step != nil && !v.step.resolved)
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

func (v *verification) check(ctx workflow.Context, in contract.CheckInput) (contract.CheckResult, error) {
	// A provider may deliver the code before SendCode returns its hash: a
	// check in that gap waits for the send instead of counting as wrong.
	if v.sending && workflow.GetVersion(ctx, changeCheckWaitsForSend, workflow.DefaultVersion, 1) == 1 {
		if err := workflow.Await(ctx, func() bool { return !v.sending || v.state.Status.Final() }); err != nil {
			return contract.CheckResult{}, err
		}
	} else if v.firstCodeOnItsWay() && workflow.GetVersion(ctx, changeCheckWaitsForFirstCode, workflow.DefaultVersion, 1) == 1 {
		if err := workflow.Await(ctx, func() bool { return !v.firstCodeOnItsWay() }); err != nil {
			return contract.CheckResult{}, err
		}
	}
	if v.state.Status.Final() {
		return contract.CheckResult{Outcome: contract.CheckNotPending, State: cloneState(v.state)}, nil
	}
	var outcome contract.CheckOutcome
	switch {
	case !otp.Equal(in.BindingDigest, v.in.BindingDigest):
		outcome = contract.CheckBindingMismatch
	case containsHash(v.codeHashes, in.CodeHash):
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
	if v.state.Status.Final() {
		return nil, temporal.NewApplicationError("verification is "+string(v.state.Status), contract.ErrTypeNotPending)
	}
	if v.state.Sends >= v.in.Policy.MaxSends {
		return nil, temporal.NewApplicationError("send cap reached", contract.ErrTypeRateLimited, 0)
	}
	if v.pending != nil {
		return nil, temporal.NewApplicationError("a send is already queued", contract.ErrTypeRateLimited, 1)
	}
	if wait := v.state.LastSendAt.Add(v.in.Policy.ResendCooldown).Sub(workflow.Now(ctx)); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		return nil, temporal.NewApplicationError("resend cooldown", contract.ErrTypeRateLimited, secs)
	}
	if in.Channel == "" {
		next := v.nextChannel(v.cur + 1)
		if next < 0 {
			next = max(v.cur, 0)
		}
		return &sendRequest{channel: v.in.Plan.Channels[next], planIdx: next, reason: "resend", generation: v.resendGeneration()}, nil
	}
	if !in.Channel.Valid() || in.Channel.Destination(v.in.To) == "" {
		return nil, temporal.NewApplicationError("channel has no destination", contract.ErrTypeInvalidArgument)
	}
	planIdx := v.cur
	for i, c := range v.in.Plan.Channels {
		if c == in.Channel {
			planIdx = i
			break
		}
	}
	return &sendRequest{channel: in.Channel, planIdx: planIdx, reason: "resend", generation: v.resendGeneration()}, nil
}

// resendGeneration is the code generation a resend sends.
func (v *verification) resendGeneration() int {
	if v.in.Policy.NewCodeOnResend {
		return v.codeGen + 1
	}
	return v.codeGen
}

func (v *verification) validateResend(ctx workflow.Context, in contract.ResendInput) error {
	_, err := v.resendTarget(ctx, in)
	return err
}

func (v *verification) resend(ctx workflow.Context, in contract.ResendInput) (contract.State, error) {
	req, err := v.resendTarget(ctx, in)
	if err != nil {
		return contract.State{}, err
	}
	v.pending = req
	// Answer once the main loop has taken the request and recorded the new
	// attempt, so the response shows it.
	if err := workflow.Await(ctx, func() bool { return v.pending != req || v.state.Status.Final() }); err != nil {
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

func (v *verification) cancel(ctx workflow.Context) (contract.State, error) {
	v.finish(ctx, contract.StatusCanceled, "")
	return cloneState(v.state), nil
}
