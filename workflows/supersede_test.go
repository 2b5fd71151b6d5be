package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"

	"github.com/veriflow/veriflow/internal/contract"
)

// supersedeCall is one run of the scripted Supersede activity.
type supersedeCall struct {
	in        contract.SupersedeInput
	at        time.Duration // since start, when it returned
	sendsSeen int           // SendCode calls made before it returned
	err       error
}

// onSupersede scripts the Supersede activity: each attempt takes delay and
// returns the next error of errs (then nil). It returns the attempts made.
func (h *harness) onSupersede(delay time.Duration, errs ...error) *[]supersedeCall {
	h.t.Helper()
	calls := &[]supersedeCall{}
	fn := func(ctx context.Context, in contract.SupersedeInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		var err error
		if n := len(*calls); n < len(errs) {
			err = errs[n]
		}
		*calls = append(*calls, supersedeCall{in: in, at: h.env.Now().Sub(h.start), sendsSeen: len(h.sends), err: err})
		return err
	}
	h.env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: contract.ActivitySupersede})
	h.env.OnActivity(contract.ActivitySupersede, mock.Anything, mock.Anything).After(delay).Return(fn)
	return calls
}

func TestSupersedeRunsBeforeTheFirstSend(t *testing.T) {
	h := newHarness(t)
	h.in.Supersede = true
	calls := h.onSupersede(0)
	h.check(time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Len(t, *calls, 1)
	c := (*calls)[0]
	require.Equal(t, contract.SupersedeInput{VerificationID: h.in.ID, TenantID: h.in.TenantID, Kind: h.in.Kind, To: h.in.To}, c.in)
	require.Zero(t, c.sendsSeen, "no code is sent before the older ones are dead")
	require.Equal(t, []contract.Channel{wa}, h.channels())
}

// TestSlowSupersedeDelaysTheFirstSend: the Supersede activity takes 20 s;
// the code goes out right after it, and a check in the meantime waits for
// the code instead of counting as wrong.
func TestSlowSupersedeDelaysTheFirstSend(t *testing.T) {
	h := newHarness(t)
	h.in.Supersede = true
	calls := h.onSupersede(20 * time.Second)
	c := h.check(5*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, contract.CheckApproved, c.check.Outcome)
	require.Equal(t, h.in.Policy.MaxChecks, st.ChecksLeft)
	require.Len(t, *calls, 1)
	require.Equal(t, 20*time.Second, h.sendAt(0))
}

// TestFailingSupersedeIsRetriedThenTheCodeIsSent: a Supersede that fails a
// few times is retried with backoff, and the send waits for its success.
func TestFailingSupersedeIsRetriedThenTheCodeIsSent(t *testing.T) {
	h := newHarness(t)
	h.in.Supersede = true
	down := errors.New("temporal unavailable")
	calls := h.onSupersede(0, down, down, down)
	h.check(30*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Len(t, *calls, 4)
	last := (*calls)[3]
	require.NoError(t, last.err)
	require.Zero(t, last.sendsSeen)
	require.Positive(t, last.at, "retries back off")
	require.GreaterOrEqual(t, h.sendAt(0), last.at)
	require.Equal(t, []contract.Channel{wa}, h.channels())
}

// TestSupersedeThatNeverSucceedsStillSends: when Supersede keeps failing
// until it gives up, the person still gets their code. (The test
// environment stops retrying an unlimited policy after 10 attempts; a real
// server retries until the one-minute window closes.)
func TestSupersedeThatNeverSucceedsStillSends(t *testing.T) {
	h := newHarness(t)
	h.in.Supersede = true
	down := errors.New("temporal unavailable")
	errs := make([]error, 1000)
	for i := range errs {
		errs[i] = down
	}
	calls := h.onSupersede(0, errs...)
	c := h.check(10*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, contract.CheckApproved, c.check.Outcome, "the check waited for the code")
	require.Greater(t, len(*calls), 3)
	require.Equal(t, []contract.Channel{wa}, h.channels())
	last := (*calls)[len(*calls)-1]
	require.Error(t, last.err)
	require.Equal(t, last.at, h.sendAt(0), "the code goes out as soon as Supersede gives up")
	require.LessOrEqual(t, h.sendAt(0), supersedeWindow)
}

// TestCancelDuringSupersedeSendsNothing: a verification canceled while it
// supersedes others never sends its code.
func TestCancelDuringSupersedeSendsNothing(t *testing.T) {
	h := newHarness(t)
	h.in.Supersede = true
	h.onSupersede(20 * time.Second)
	c := h.update(5*time.Second, contract.UpdateCancel, nil)
	st := h.run()
	require.Equal(t, contract.StatusCanceled, st.Status)
	require.Equal(t, contract.StatusCanceled, c.state.Status)
	require.Empty(t, h.channels())
}

func TestNoSupersedeWithoutTheFlag(t *testing.T) {
	h := newHarness(t)
	calls := h.onSupersede(0)
	h.check(time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Empty(t, *calls)
	require.Equal(t, time.Duration(0), h.sendAt(0))
}
