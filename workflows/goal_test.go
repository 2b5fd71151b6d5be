package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/veriflow/veriflow/internal/contract"
)

const rcs = contract.ChannelRCS

// goalHarness is a harness whose plan asks for reads on whatsapp → rcs → sms.
func goalHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.in.Plan = contract.Plan{Channels: []contract.Channel{wa, rcs, sms}, StepTimeout: 30 * time.Second, Goal: contract.GoalRead}
	return h
}

// failedOver returns the details of the failed_over events, in order.
func (h *harness) failedOver() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		for _, e := range r.Events {
			if e.Type == contract.EventFailedOver {
				out = append(out, e.Detail)
			}
		}
	}
	return out
}

func TestGoalReadDeliveredOnlyFailsOverAfterTheTimeout(t *testing.T) {
	h := goalHarness(t)
	h.receipt(time.Second, 1, 1, contract.AttemptDelivered, "")    // whatsapp: never read
	h.receipt(31*time.Second, 2, 2, contract.AttemptSent, "")      // rcs: only sent
	h.receipt(61*time.Second, 3, 3, contract.AttemptDelivered, "") // sms: delivery is its goal
	h.check(70*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, []contract.Channel{wa, rcs, sms}, h.channels())
	require.Equal(t, 30*time.Second, h.sendAt(1), "the delivered receipt did not end the step")
	require.Equal(t, 60*time.Second, h.sendAt(2))
	require.Equal(t, []string{"not_read", "timeout"}, h.failedOver())
	require.Equal(t, contract.AttemptDelivered, st.Attempts[0].Status)
	require.Equal(t, contract.ReasonNotRead, st.Attempts[0].Error)
	require.NotNil(t, st.Attempts[0].DeliveredAt)
	require.Nil(t, st.Attempts[0].ReadAt)
	require.Equal(t, contract.AttemptSent, st.Attempts[1].Status)
	require.Empty(t, st.Attempts[1].Error, "a timeout leaves the attempt as it was, as without a goal")
	require.Equal(t, contract.AttemptDelivered, st.Attempts[2].Status)
}

func TestGoalReadReadBeforeTheTimeoutStays(t *testing.T) {
	h := goalHarness(t)
	h.receipt(time.Second, 1, 1, contract.AttemptDelivered, "")
	h.receipt(10*time.Second, 2, 1, contract.AttemptRead, "")
	h.check(50*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, []contract.Channel{wa}, h.channels())
	require.Empty(t, h.failedOver())
	a := st.Attempts[0]
	require.Equal(t, contract.AttemptRead, a.Status)
	require.Empty(t, a.Error)
	require.True(t, h.start.Add(time.Second).Equal(*a.DeliveredAt))
	require.True(t, h.start.Add(10*time.Second).Equal(*a.ReadAt))
}

func TestGoalReadWithoutDeliveredReceiptSetsBothTimes(t *testing.T) {
	h := goalHarness(t)
	h.receipt(5*time.Second, 1, 1, contract.AttemptRead, "")
	h.check(50*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, []contract.Channel{wa}, h.channels())
	a := st.Attempts[0]
	require.True(t, h.start.Add(5*time.Second).Equal(*a.DeliveredAt))
	require.True(t, h.start.Add(5*time.Second).Equal(*a.ReadAt))
}

func TestGoalReadOnAChannelWithoutReadsCountsDelivery(t *testing.T) {
	h := newHarness(t)
	h.in.Plan = contract.Plan{Channels: []contract.Channel{sms, email}, StepTimeout: 30 * time.Second, Goal: contract.GoalRead}
	h.receipt(time.Second, 1, 1, contract.AttemptDelivered, "")
	h.check(50*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, []contract.Channel{sms}, h.channels())
	require.Empty(t, h.failedOver())
	require.Empty(t, st.Attempts[0].Error)
}

func TestDefaultGoalDeliveredSuffices(t *testing.T) {
	for _, goal := range []contract.ChannelGoal{"", contract.GoalDelivered} {
		t.Run(string(goal)+"-goal", func(t *testing.T) {
			h := goalHarness(t)
			h.in.Plan.Goal = goal
			h.receipt(time.Second, 1, 1, contract.AttemptDelivered, "")
			h.check(50*time.Second, h.code())
			st := h.run()
			require.Equal(t, contract.StatusApproved, st.Status)
			require.Equal(t, []contract.Channel{wa}, h.channels())
			require.Empty(t, h.failedOver())
			require.Equal(t, contract.AttemptDelivered, st.Attempts[0].Status)
			require.Nil(t, st.Attempts[0].ReadAt)
		})
	}
}

func TestGoalReadFailureStillFailsOverAtOnce(t *testing.T) {
	h := goalHarness(t)
	h.receipt(2*time.Second, 1, 1, contract.AttemptFailed, "not_on_whatsapp")
	h.receipt(3*time.Second, 2, 2, contract.AttemptFailed, "rcs_not_capable")
	h.receipt(4*time.Second, 3, 3, contract.AttemptDelivered, "")
	h.check(10*time.Second, h.code())
	st := h.run()
	require.Equal(t, contract.StatusApproved, st.Status)
	require.Equal(t, []contract.Channel{wa, rcs, sms}, h.channels())
	require.Equal(t, 2*time.Second, h.sendAt(1))
	require.Equal(t, 3*time.Second, h.sendAt(2))
	require.Equal(t, []string{"not_on_whatsapp", "rcs_not_capable"}, h.failedOver())
}
