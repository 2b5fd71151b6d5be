package delivery

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/events"
)

// StartMarker records that an event's delivery workflow was started.
type StartMarker interface {
	MarkOutboundStarted(ctx context.Context, id int64, workflowID string) error
}

// Start starts the DeliverEvent workflow of event id under workflowID
// (events.WorkflowID, or events.ResendWorkflowID for a resend) and marks the
// event started. A workflow with that id that already exists (running or
// closed) is not an error: starting is idempotent. A failure leaves the
// event pending; the events relay starts it later.
func Start(ctx context.Context, c client.Client, m StartMarker, id int64, workflowID string) error {
	if c == nil {
		return errors.New("no Temporal client")
	}
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    workflowID,
		TaskQueue:             contract.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:         "deliver " + events.EventID(id),
	}, contract.WorkflowDeliverEvent, id)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start %s: %w", workflowID, err)
	}
	if err := m.MarkOutboundStarted(ctx, id, workflowID); err != nil {
		return fmt.Errorf("mark %s started: %w", workflowID, err)
	}
	return nil
}
