package worker

import (
	"slices"
	"testing"

	"go.temporal.io/sdk/activity"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/activities"
	"github.com/veriflow/veriflow/internal/events/delivery"
)

// names records the names registered on it.
type names struct {
	sdkworker.Registry
	workflows, activities []string
}

func (n *names) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	n.workflows = append(n.workflows, o.Name)
}

func (n *names) RegisterActivityWithOptions(_ any, o activity.RegisterOptions) {
	n.activities = append(n.activities, o.Name)
}

// TestRegisteredNames: the names are in recorded histories and in running
// workflows; they must not change when code moves.
func TestRegisteredNames(t *testing.T) {
	var r names
	Register(&r, &activities.Activities{}, &delivery.Activities{})
	for _, w := range []string{"Verification", "DeliverEvent"} {
		if !slices.Contains(r.workflows, w) {
			t.Errorf("workflow %s not registered: %v", w, r.workflows)
		}
	}
	for _, a := range []string{"SendCode", "Record", "PostEvent"} {
		if !slices.Contains(r.activities, a) {
			t.Errorf("activity %s not registered: %v", a, r.activities)
		}
	}

	var replay names
	Register(&replay, nil, nil)
	if len(replay.activities) != 0 || !slices.Contains(replay.workflows, "DeliverEvent") {
		t.Errorf("replayer registry: %v %v", replay.workflows, replay.activities)
	}
}
