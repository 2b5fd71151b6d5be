// Package worker builds the Temporal worker that runs verification
// workflows and their activities.
package worker

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/activities"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/events/delivery"
	"github.com/veriflow/veriflow/workflows"
)

// New returns a worker on the Veriflow task queue with the verification and
// event-delivery workflows and their activities registered under their
// contract names.
func New(c client.Client, acts *activities.Activities, deliveries *delivery.Activities, opts sdkworker.Options) sdkworker.Worker {
	w := sdkworker.New(c, contract.TaskQueue, opts)
	Register(w, acts, deliveries)
	return w
}

// Register registers the workflows and activities on any registry (a
// worker, or a replayer for the workflows alone when acts and deliveries
// are nil).
func Register(r sdkworker.Registry, acts *activities.Activities, deliveries *delivery.Activities) {
	r.RegisterWorkflowWithOptions(workflows.Verification, workflow.RegisterOptions{Name: contract.WorkflowVerification})
	r.RegisterWorkflowWithOptions(delivery.DeliverEvent, workflow.RegisterOptions{Name: contract.WorkflowDeliverEvent})
	if acts != nil {
		r.RegisterActivityWithOptions(acts.SendCode, activity.RegisterOptions{Name: contract.ActivitySendCode})
		r.RegisterActivityWithOptions(acts.Record, activity.RegisterOptions{Name: contract.ActivityRecord})
		r.RegisterActivityWithOptions(acts.Supersede, activity.RegisterOptions{Name: contract.ActivitySupersede})
		r.RegisterActivityWithOptions(acts.Commit, activity.RegisterOptions{Name: contract.ActivityCommit})
	}
	if deliveries != nil {
		r.RegisterActivityWithOptions(deliveries.PostEvent, activity.RegisterOptions{Name: contract.ActivityPostEvent})
	}
}
