package store

import (
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

// TestRecordProjectsStateAndEventsInOrder: the one-round-trip projection
// (no contract events, no evidence) stores the state and the audit events
// in their order, with their nulls, and an older version changes nothing.
func TestRecordProjectsStateAndEventsInOrder(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	seedVerification(t, s, "t1", "vf_rec1")
	at := time.Now().UTC().Truncate(time.Millisecond)
	in := contract.RecordInput{VerificationID: "vf_rec1", TenantID: "t1",
		State: contract.State{Status: contract.StatusPending, Channel: contract.ChannelWhatsApp, ChecksLeft: 5, Version: 2,
			Attempts: []contract.Attempt{{Seq: 1, Channel: contract.ChannelWhatsApp, Status: contract.AttemptSending}}},
		Events: []contract.Event{
			{Type: "created", At: at},
			{Type: "sending", Channel: contract.ChannelWhatsApp, Detail: "initial", At: at.Add(time.Millisecond)},
			{Type: "check_failed", Detail: "wrong_code", At: at.Add(2 * time.Millisecond)},
		}}
	if ids, err := s.Record(ctx, in, nil); err != nil || len(ids) != 0 {
		t.Fatalf("record: %v %v", ids, err)
	}
	stale := in
	stale.State = contract.State{Status: contract.StatusExpired, Version: 1}
	stale.Events = nil
	if _, err := s.Record(ctx, stale, nil); err != nil {
		t.Fatal(err)
	}
	v, err := s.GetVerification(ctx, "t1", "vf_rec1")
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != contract.StatusPending || v.Version != 2 || len(v.Attempts) != 1 || v.Attempts[0].Channel != contract.ChannelWhatsApp {
		t.Fatalf("stored state %+v", v)
	}
	events, err := s.Events(ctx, "vf_rec1")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != len(in.Events) {
		t.Fatalf("events %+v", events)
	}
	for i, e := range in.Events {
		got := events[i]
		if got.Type != string(e.Type) || got.Channel != e.Channel || got.Detail != e.Detail || !got.OccurredAt.Equal(e.At) {
			t.Fatalf("event %d: got %+v, want %+v", i, got, e)
		}
	}
}
