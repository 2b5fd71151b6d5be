package delivery

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/veriflow/veriflow/internal/store"
)

// fakeTemporal records workflow starts; fail decides the error of a start.
type fakeTemporal struct {
	client.Client
	fail    func(workflowID string) error
	started []client.StartWorkflowOptions
	names   []any
	args    [][]any
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	if f.fail != nil {
		if err := f.fail(o.ID); err != nil {
			return nil, err
		}
	}
	f.started = append(f.started, o)
	f.names = append(f.names, wf)
	f.args = append(f.args, args)
	return nil, nil
}

// fakeRelayStore is an in-memory RelayStore.
type fakeRelayStore struct {
	pending   []store.PendingOutbound
	expired   int64
	olderThan time.Duration
	maxAge    time.Duration
	marked    map[int64]string
}

func (s *fakeRelayStore) PendingOutboundEvents(_ context.Context, olderThan time.Duration, limit int) ([]store.PendingOutbound, error) {
	s.olderThan = olderThan
	return s.pending[:min(limit, len(s.pending))], nil
}

func (s *fakeRelayStore) ExpireOutboundEvents(_ context.Context, maxAge time.Duration) (int64, error) {
	s.maxAge = maxAge
	return s.expired, nil
}

func (s *fakeRelayStore) MarkOutboundStarted(_ context.Context, id int64, workflowID string) error {
	if s.marked == nil {
		s.marked = map[int64]string{}
	}
	s.marked[id] = workflowID
	return nil
}

func TestStart(t *testing.T) {
	ctx := t.Context()
	tc := &fakeTemporal{}
	st := &fakeRelayStore{}
	if err := Start(ctx, tc, st, 42, "event/vf_1/42"); err != nil {
		t.Fatal(err)
	}
	if len(tc.started) != 1 {
		t.Fatalf("started %d", len(tc.started))
	}
	o := tc.started[0]
	if o.ID != "event/vf_1/42" || o.TaskQueue != "veriflow" ||
		o.WorkflowIDReusePolicy != enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE || o.StaticSummary != "deliver evt_42" {
		t.Fatalf("options %+v", o)
	}
	if tc.names[0] != "DeliverEvent" || len(tc.args[0]) != 1 || tc.args[0][0] != int64(42) {
		t.Fatalf("started %v %v", tc.names[0], tc.args[0])
	}
	if st.marked[42] != "event/vf_1/42" {
		t.Fatalf("marked %v", st.marked)
	}

	// A workflow that exists already: idempotent, marked.
	tc = &fakeTemporal{fail: func(string) error { return serviceerror.NewWorkflowExecutionAlreadyStarted("exists", "", "") }}
	st = &fakeRelayStore{}
	if err := Start(ctx, tc, st, 7, "event/vf_1/7"); err != nil {
		t.Fatal(err)
	}
	if st.marked[7] != "event/vf_1/7" {
		t.Fatalf("marked %v", st.marked)
	}

	// Temporal unreachable: an error, not marked (the relay retries).
	down := errors.New("unavailable")
	tc = &fakeTemporal{fail: func(string) error { return down }}
	if err := Start(ctx, tc, st, 8, "event/vf_1/8"); !errors.Is(err, down) {
		t.Fatalf("want %v, got %v", down, err)
	}
	if _, ok := st.marked[8]; ok {
		t.Fatal("marked a start that failed")
	}
	if err := Start(ctx, nil, st, 9, "event/vf_1/9"); err == nil {
		t.Fatal("no client: want an error")
	}
}

func TestRelayPending(t *testing.T) {
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	st := &fakeRelayStore{expired: 2, pending: []store.PendingOutbound{
		{ID: 1, WorkflowID: "event/vf_a/1"}, {ID: 2, WorkflowID: "event/vf_a/2/resend/5"}, {ID: 3, WorkflowID: "event/vf_b/3"},
	}}
	tc := &fakeTemporal{}
	n, err := RelayPending(ctx, st, tc, log)
	if err != nil || n != 3 {
		t.Fatalf("relayed %d, %v", n, err)
	}
	if st.maxAge != 73*time.Hour || st.olderThan != 30*time.Second {
		t.Fatalf("give up after %v, relay after %v", st.maxAge, st.olderThan)
	}
	for _, p := range st.pending {
		if st.marked[p.ID] != p.WorkflowID {
			t.Fatalf("event %d marked %q, want %q", p.ID, st.marked[p.ID], p.WorkflowID)
		}
	}
	if tc.started[1].ID != "event/vf_a/2/resend/5" {
		t.Fatalf("started %+v", tc.started[1])
	}

	// A failed start stops the pass; the next pass retries.
	st.marked = nil
	down := errors.New("unavailable")
	tc = &fakeTemporal{fail: func(id string) error {
		if id == "event/vf_a/2/resend/5" {
			return down
		}
		return nil
	}}
	n, err = RelayPending(ctx, st, tc, log)
	if !errors.Is(err, down) || n != 1 || len(st.marked) != 1 {
		t.Fatalf("relayed %d (%v marked), %v", n, st.marked, err)
	}
}
