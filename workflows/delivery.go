package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/otp"
)

// Why a send happens: the detail of its "sending" event (in histories).
const (
	reasonInitial  = "initial"
	reasonFailover = "failover"
	reasonResend   = "resend"
)

// sendRequest asks the main loop to send the code over one channel.
type sendRequest struct {
	channel    contract.Channel
	planIdx    int // position in the plan the failover continues from
	reason     string
	generation int // the code's generation (a new code on resend increments it)
}

// step is the wait after one send: it ends when its attempt reaches the
// step's goal, on a failure or when its timer fires.
type step struct {
	attempt    int // index in state.Attempts
	planIdx    int
	goal       contract.ChannelGoal // GoalRead only on a channel that reports reads
	timerFired bool
	resolved   bool
	cancel     workflow.CancelFunc
}

// reached reports whether attempt a reached the step's goal: read when the
// goal is read, delivered (or read) otherwise. It is the one test of a
// channel's success: the step's end and its resolution both ask it.
func (s *step) reached(a contract.Attempt) bool {
	if s.goal == contract.GoalRead {
		return a.Status == contract.AttemptRead
	}
	return a.Status.Delivered()
}

// ended reports whether the step's wait is over, given its attempt.
func (s *step) ended(a contract.Attempt) bool {
	return s.timerFired || a.Status.Failed() || s.reached(a)
}

// delivery is the failover state of a verification: the send queued for
// the main loop, the step of the latest send, where in the plan it is, and
// the hashes of the codes sent. Handlers and coroutines change it only
// through its methods.
type delivery struct {
	pending *sendRequest // queued for the main loop
	step    *step        // the latest send's step
	cur     int          // plan index of the latest send, -1 before the first
	sending bool         // a SendCode activity is running

	codeHashes []string // hashes of the valid codes
	codeGen    int      // generation of the codes in codeHashes
}

func newDelivery() delivery { return delivery{cur: -1} }

// queue asks the main loop to send r.
func (d *delivery) queue(r *sendRequest) { d.pending = r }

// queued reports whether a send waits for the main loop.
func (d *delivery) queued() bool { return d.pending != nil }

// taken reports whether the main loop took r (or r was never queued).
func (d *delivery) taken(r *sendRequest) bool { return d.pending != r }

// take hands the queued send to the main loop.
func (d *delivery) take() *sendRequest {
	r := d.pending
	d.pending = nil
	return r
}

// stepOpen reports whether the latest send's step is still waiting.
func (d *delivery) stepOpen() bool { return d.step != nil && !d.step.resolved }

// busy reports whether a send is queued, running or waiting in its step.
func (d *delivery) busy() bool { return d.sending || d.queued() || d.stepOpen() }

// closeStep resolves the open step, if any, and stops its timer.
func (d *delivery) closeStep() {
	if !d.stepOpen() {
		return
	}
	d.step.resolved = true
	if d.step.cancel != nil {
		d.step.cancel()
	}
}

// stopTimer stops the step's timer without resolving the step (the
// verification is final).
func (d *delivery) stopTimer() {
	if d.step != nil && d.step.cancel != nil {
		d.step.cancel()
	}
}

// openStep starts the step of a send of attempt at plan index planIdx,
// which ends successfully once the attempt reaches goal.
func (d *delivery) openStep(attempt, planIdx int, goal contract.ChannelGoal) {
	d.cur = planIdx
	d.step = &step{attempt: attempt, planIdx: planIdx, goal: goal}
}

// startTimer ends the open step after timeout unless it is resolved (or
// the verification final) first.
func (d *delivery) startTimer(ctx workflow.Context, timeout time.Duration) {
	s := d.step
	tctx, cancel := workflow.WithCancel(ctx)
	s.cancel = cancel
	workflow.Go(tctx, func(gctx workflow.Context) {
		if workflow.Sleep(gctx, timeout) == nil {
			s.timerFired = true
		}
	})
}

// hasCode reports whether a code was sent (its hash is known).
func (d *delivery) hasCode() bool { return len(d.codeHashes) > 0 }

// accept records the hash of a code sent with generation gen: a newer
// generation replaces the codes sent before.
func (d *delivery) accept(gen int, hash string) {
	switch {
	case !otp.ValidHash(hash):
	case gen > d.codeGen:
		d.codeHashes, d.codeGen = []string{hash}, gen
	case !containsHash(d.codeHashes, hash):
		d.codeHashes = append(d.codeHashes, hash)
	}
}

// valid reports whether hash is the hash of a valid code.
func (d *delivery) valid(hash string) bool { return containsHash(d.codeHashes, hash) }

// generation is the code generation of a failover (the current one) or of
// a resend (the next one when a resend sends a new code).
func (d *delivery) generation(newCode bool) int {
	if newCode {
		return d.codeGen + 1
	}
	return d.codeGen
}

func containsHash(hashes []string, h string) bool {
	found := false
	for _, x := range hashes {
		found = otp.Equal(x, h) || found
	}
	return found
}
