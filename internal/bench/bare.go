package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Names of the bare shape.
const (
	BareTaskQueue = "bench-bare"
	bareWorkflow  = "BareVerification"
	bareSend      = "BareSend"
	bareReceipt   = "receipt"
	bareCheck     = "check"
)

// bareWorkflowFn is the bare Temporal workflow of a verification's shape:
// one activity (the send, which signals a receipt as a provider would),
// the receipt signal, and a check update that approves once the receipt
// arrived. It holds no state beyond that and writes nowhere.
func bareWorkflowFn(ctx workflow.Context, id string) (string, error) {
	delivered, approved := false, false
	if err := workflow.SetUpdateHandler(ctx, bareCheck, func(ctx workflow.Context, code string) (string, error) {
		if err := workflow.Await(ctx, func() bool { return delivered }); err != nil {
			return "", err
		}
		approved = true
		return "approved", nil
	}); err != nil {
		return "", err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 15 * time.Second})
	if err := workflow.ExecuteActivity(actx, bareSend, id).Get(ctx, nil); err != nil {
		return "", err
	}
	workflow.GetSignalChannel(ctx, bareReceipt).Receive(ctx, nil)
	delivered = true
	if err := workflow.Await(ctx, func() bool { return approved && workflow.AllHandlersFinished(ctx) }); err != nil {
		return "", err
	}
	return "approved", nil
}

// bareActivities holds the client the send uses to signal its receipt,
// and when each send ran (the bare "provider" accepting the message).
type bareActivities struct {
	c        client.Client
	accepted sync.Map // workflow id → time.Time
}

// send stands for a provider call that reports delivery: it signals the
// workflow's receipt before returning, as the sandbox does.
func (a *bareActivities) send(ctx context.Context, id string) (string, error) {
	info := activity.GetInfo(ctx)
	a.accepted.LoadOrStore(info.WorkflowExecution.ID, time.Now())
	if err := a.c.SignalWorkflow(ctx, info.WorkflowExecution.ID, "", bareReceipt, "delivered"); err != nil {
		return "", fmt.Errorf("receipt: %w", err)
	}
	return "msg-" + id, nil
}

// RegisterBare registers the bare workflow and its activity on w; c is the
// client the activity signals with. The returned function says when the
// send of a workflow ran, once (it forgets it).
func RegisterBare(w sdkworker.Registry, c client.Client) (accepted func(workflowID string) (time.Time, bool)) {
	w.RegisterWorkflowWithOptions(bareWorkflowFn, workflow.RegisterOptions{Name: bareWorkflow})
	a := &bareActivities{c: c}
	w.RegisterActivityWithOptions(a.send, activity.RegisterOptions{Name: bareSend})
	return func(id string) (time.Time, bool) {
		v, ok := a.accepted.LoadAndDelete(id)
		if !ok {
			return time.Time{}, false
		}
		return v.(time.Time), true
	}
}

// bareTarget drives the bare shape through the Temporal client directly.
type bareTarget struct {
	c        client.Client
	seq      func() string
	wait     time.Duration
	accepted func(workflowID string) (time.Time, bool)
}

func (b *bareTarget) Name() string { return "bare" }

// Verify starts one bare workflow, waits the think time and checks it.
func (b *bareTarget) Verify(ctx context.Context) (Sample, error) {
	id := "bench-bare/" + b.seq()
	t0 := time.Now()
	_, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: BareTaskQueue}, bareWorkflow, id)
	if err != nil {
		return Sample{}, fmt.Errorf("start: %w", err)
	}
	s := Sample{Start: time.Since(t0), ID: id, Began: t0}
	if err := think(ctx, b.wait); err != nil {
		return s, err
	}
	t1 := time.Now()
	h, err := b.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: bareCheck, Args: []any{"000000"}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return s, fmt.Errorf("check: %w", err)
	}
	var out string
	if err := h.Get(ctx, &out); err != nil {
		return s, fmt.Errorf("check: %w", err)
	}
	s.Check = time.Since(t1)
	if at, ok := b.accepted(id); ok {
		s.Send = at.Sub(t0)
	}
	if out != "approved" {
		return s, errors.New("check: not approved")
	}
	return s, nil
}
