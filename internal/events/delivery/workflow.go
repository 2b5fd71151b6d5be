package delivery

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/internal/contract"
)

// Delivery retry policy of an outbound event: exponential backoff from 1 s
// up to 10 min between attempts, for at most 72 h.
const (
	deliverInitialInterval = time.Second
	deliverMaxInterval     = 10 * time.Minute
	deliverWindow          = 72 * time.Hour
	deliverAttemptTimeout  = 15 * time.Second
)

// DeliverEvent POSTs one outbound event to its tenant's callback through
// the PostEvent activity, retried with backoff until a 2xx or the 72 h
// window ends. PostEvent records every attempt in Postgres. It is a
// workflow: deterministic, checked by workflowcheck; its activity options
// are in recorded histories and must not change.
func DeliverEvent(ctx workflow.Context, eventID int64) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: deliverWindow,
		StartToCloseTimeout:    deliverAttemptTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    deliverInitialInterval,
			BackoffCoefficient: 2,
			MaximumInterval:    deliverMaxInterval,
			MaximumAttempts:    0, // unlimited within ScheduleToCloseTimeout
		},
	})
	return workflow.ExecuteActivity(ctx, contract.ActivityPostEvent, eventID).Get(ctx, nil)
}
