package delivery

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/internal/contract"
)

func deliverEnv(t *testing.T, post func(ctx context.Context, id int64) error) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 4}))))
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(DeliverEvent, workflow.RegisterOptions{Name: contract.WorkflowDeliverEvent})
	env.RegisterActivityWithOptions(post, activity.RegisterOptions{Name: contract.ActivityPostEvent})
	return env
}

func TestDeliverEventRetriesUntilDelivered(t *testing.T) {
	var calls []time.Time
	var env *testsuite.TestWorkflowEnvironment
	env = deliverEnv(t, func(ctx context.Context, id int64) error {
		require.Equal(t, int64(42), id)
		calls = append(calls, env.Now())
		if len(calls) <= 2 {
			return temporal.NewApplicationError("callback answered HTTP 500", "CallbackFailed")
		}
		return nil
	})
	env.ExecuteWorkflow(contract.WorkflowDeliverEvent, int64(42))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, calls, 3)
	// Backoff: 1 s, then 2 s.
	require.GreaterOrEqual(t, calls[1].Sub(calls[0]), time.Second)
	require.GreaterOrEqual(t, calls[2].Sub(calls[1]), 2*time.Second)
}

func TestDeliverEventStopsOnNonRetryable(t *testing.T) {
	calls := 0
	env := deliverEnv(t, func(ctx context.Context, id int64) error {
		calls++
		return temporal.NewNonRetryableApplicationError("no callback registered", "EventUndeliverable", nil)
	})
	env.ExecuteWorkflow(contract.WorkflowDeliverEvent, int64(7))
	require.True(t, env.IsWorkflowCompleted())
	require.Error(t, env.GetWorkflowError())
	require.Equal(t, 1, calls)
}
