package activities

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/store"
)

// recordStore queues the given event ids on Record and remembers the
// delivery starts marked.
type recordStore struct {
	queued []int64
	marked map[int64]string
}

func (s *recordStore) RegisterMessage(context.Context, store.Message) error { return nil }

func (s *recordStore) PendingOlderSameDestination(context.Context, string, contract.Kind, []byte, []byte, string) ([]string, error) {
	return nil, nil
}

func (s *recordStore) AppendEvent(context.Context, string, string, contract.Event) error { return nil }

func (s *recordStore) Record(context.Context, contract.RecordInput, *store.Evidence) ([]int64, error) {
	return s.queued, nil
}

func (s *recordStore) MarkOutboundStarted(_ context.Context, id int64, workflowID string) error {
	s.marked[id] = workflowID
	return nil
}

// startingClient records the workflow ids started; err fails every start.
type startingClient struct {
	client.Client
	err error
	ids []string
}

func (c *startingClient) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, wf any, _ ...any) (client.WorkflowRun, error) {
	if c.err != nil {
		return nil, c.err
	}
	if wf != contract.WorkflowDeliverEvent {
		return nil, errors.New("not a delivery")
	}
	c.ids = append(c.ids, o.ID)
	return nil, nil
}

// TestRecordStartsDeliveries: the events a projection queued get their
// DeliverEvent workflows started and marked; without Temporal (or when
// the start fails) the projection still succeeds and the events stay for
// the events relay.
func TestRecordStartsDeliveries(t *testing.T) {
	ctx := t.Context()
	in := contract.RecordInput{VerificationID: "vf_r1", TenantID: "t1",
		State:  contract.State{Status: contract.StatusApproved, Version: 3},
		Events: []contract.Event{{Type: contract.EventApproved}}}
	log := slog.New(slog.DiscardHandler)

	st := &recordStore{queued: []int64{11, 12}, marked: map[int64]string{}}
	tc := &startingClient{}
	a := &Activities{Store: st, Log: log, Temporal: tc}
	if err := a.Record(ctx, in); err != nil {
		t.Fatal(err)
	}
	if len(tc.ids) != 2 || tc.ids[0] != "event/vf_r1/11" || tc.ids[1] != "event/vf_r1/12" {
		t.Fatalf("started %v", tc.ids)
	}
	if st.marked[11] != "event/vf_r1/11" || st.marked[12] != "event/vf_r1/12" {
		t.Fatalf("marked %v", st.marked)
	}

	for name, c := range map[string]client.Client{"no client": nil, "temporal down": &startingClient{err: errors.New("down")}} {
		st := &recordStore{queued: []int64{13}, marked: map[int64]string{}}
		a := &Activities{Store: st, Log: log, Temporal: c}
		if err := a.Record(ctx, in); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(st.marked) != 0 {
			t.Fatalf("%s: marked %v", name, st.marked)
		}
	}
}
