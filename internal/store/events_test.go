package store

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/events"
)

func seedVerification(t *testing.T, s *Store, tenant, id string) {
	t.Helper()
	ctx := t.Context()
	if err := s.EnsureTenant(ctx, tenant, tenant); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, _, err := s.InsertVerification(ctx, StartRequest{Verification: Verification{ID: id, TenantID: tenant, Mode: contract.ModeTest,
		Kind: contract.KindSignup, Status: contract.StatusPending, ToPhone: "+15005****00", ChecksLeft: 5,
		CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}}); err != nil {
		t.Fatal(err)
	}
}

func TestOutboundEvents(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	seedVerification(t, s, "t1", "vf_out1")
	seedVerification(t, s, "t2", "vf_out2")
	at := time.Now().UTC().Truncate(time.Millisecond)
	sent := contract.RecordInput{VerificationID: "vf_out1", TenantID: "t1",
		State: contract.State{Status: contract.StatusPending, Channel: contract.ChannelSMS, ChecksLeft: 5, Version: 1,
			Attempts: []contract.Attempt{{Seq: 1, Channel: contract.ChannelSMS, Status: contract.AttemptSent, Provider: "sandbox", MessageID: "m1"}}},
		Events: []contract.Event{{Type: "sending", Channel: contract.ChannelSMS, At: at}, {Type: "sent", Channel: contract.ChannelSMS, Detail: "sandbox", At: at}}}

	// No callback: nothing is queued.
	ids, err := s.Record(ctx, sent, nil)
	if err != nil || len(ids) != 0 {
		t.Fatalf("record without callback: %v %v", ids, err)
	}

	if _, err := s.GetCallback(ctx, "t1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("callback before set: %v", err)
	}
	if err := s.SetCallback(ctx, "t1", "https://a.example/hook", []byte("sealed1")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCallback(ctx, "t1", "https://b.example/hook", []byte("sealed2")); err != nil {
		t.Fatal(err)
	}
	cb, err := s.GetCallback(ctx, "t1")
	if err != nil || cb.URL != "https://b.example/hook" || string(cb.SealedSecret) != "sealed2" {
		t.Fatalf("callback: %+v %v", cb, err)
	}

	sent.State.Version = 2
	ids, err = s.Record(ctx, sent, nil)
	if err != nil || len(ids) != 1 {
		t.Fatalf("record with callback: %v %v", ids, err)
	}
	// A projection retried after its commit queues nothing twice.
	if again, err := s.Record(ctx, sent, nil); err != nil || len(again) != 0 {
		t.Fatalf("retried record: %v %v", again, err)
	}
	final := contract.RecordInput{VerificationID: "vf_out1", TenantID: "t1",
		State: contract.State{Status: contract.StatusFailed, ChecksLeft: 5, Version: 3},
		Events: []contract.Event{
			{Type: "failed", Channel: contract.ChannelSMS, Detail: "undelivered", At: at}, // an attempt's receipt: not outbound
			{Type: "undelivered", Channel: contract.ChannelSMS, At: at},
			{Type: "failed", At: at}, // the verification's final status
		}}
	ids2, err := s.Record(ctx, final, nil)
	if err != nil || len(ids2) != 1 {
		t.Fatalf("record final: %v %v", ids2, err)
	}

	ev, err := s.GetOutboundEvent(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != OutboundPending || ev.Type != "sent" || ev.TenantID != "t1" || ev.WorkflowID != events.WorkflowID("vf_out1", ids[0]) {
		t.Fatalf("event: %+v", ev)
	}
	var body events.Event
	if err := json.Unmarshal(ev.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.ID != events.EventID(ids[0]) || body.Type != "sent" || body.VerificationID != "vf_out1" || !body.CreatedAt.Equal(at) ||
		body.Data.Status != contract.StatusPending || body.Data.Channel != contract.ChannelSMS || body.Data.ChecksLeft != 5 ||
		len(body.Data.Attempts) != 1 || body.Data.Attempts[0].Status != contract.AttemptSent {
		t.Fatalf("body: %s", ev.Body)
	}
	for _, leak := range []string{"+1500", "m1", "sandbox", "message_id", "provider"} {
		if strings.Contains(string(ev.Body), leak) {
			t.Fatalf("body holds %q: %s", leak, ev.Body)
		}
	}

	// Relay: pending and never started.
	time.Sleep(10 * time.Millisecond)
	pending, err := s.PendingOutboundEvents(ctx, time.Millisecond, 10)
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending: %v %v", pending, err)
	}
	if err := s.MarkOutboundStarted(ctx, ids[0], events.WorkflowID("vf_out1", ids[0])); err != nil {
		t.Fatal(err)
	}
	if pending, _ := s.PendingOutboundEvents(ctx, time.Millisecond, 10); len(pending) != 1 || pending[0].ID != ids2[0] {
		t.Fatalf("pending after start: %v", pending)
	}

	if err := s.MarkOutboundAttempt(ctx, ids[0], 500, "HTTP 500"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkOutboundAttempt(ctx, ids[0], 0, "timeout"); err != nil {
		t.Fatal(err)
	}
	ev, _ = s.GetOutboundEvent(ctx, ids[0])
	if ev.Attempts != 2 || ev.LastStatus != nil || ev.LastError != "timeout" || ev.Status != OutboundPending {
		t.Fatalf("after attempts: %+v", ev)
	}
	if err := s.MarkOutboundDelivered(ctx, ids[0], 204); err != nil {
		t.Fatal(err)
	}
	ev, _ = s.GetOutboundEvent(ctx, ids[0])
	if ev.Attempts != 3 || ev.LastStatus == nil || *ev.LastStatus != 204 || ev.Status != OutboundDelivered || ev.DeliveredAt == nil || ev.LastError != "" {
		t.Fatalf("after delivery: %+v", ev)
	}

	// Listing and resend are tenant-scoped.
	if evs, err := s.OutboundEvents(ctx, "t2", "vf_out1"); err != nil || len(evs) != 0 {
		t.Fatalf("other tenant lists: %v %v", evs, err)
	}
	if err := s.ResendOutboundEvent(ctx, "t2", "vf_out1", ids[0], "wf"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other tenant resends: %v", err)
	}
	if err := s.ResendOutboundEvent(ctx, "t1", "vf_out2", ids[0], "wf"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("resend under another verification: %v", err)
	}
	wf := events.ResendWorkflowID("vf_out1", ids[0], time.Now())
	if err := s.ResendOutboundEvent(ctx, "t1", "vf_out1", ids[0], wf); err != nil {
		t.Fatal(err)
	}
	evs, err := s.OutboundEvents(ctx, "t1", "vf_out1")
	if err != nil || len(evs) != 2 || evs[0].ID != ids[0] || evs[0].Status != OutboundPending || evs[0].WorkflowID != wf ||
		evs[0].DeliveredAt != nil || evs[0].Attempts != 3 {
		t.Fatalf("after resend: %+v %v", evs, err)
	}

	// Giving up.
	if err := s.MarkOutboundFailed(ctx, ids2[0], "no callback registered"); err != nil {
		t.Fatal(err)
	}
	if ev, _ := s.GetOutboundEvent(ctx, ids2[0]); ev.Status != OutboundFailed || ev.LastError != "no callback registered" {
		t.Fatalf("failed: %+v", ev)
	}
	if n, err := s.ExpireOutboundEvents(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("expire fresh: %d %v", n, err)
	}
	if n, err := s.ExpireOutboundEvents(ctx, time.Millisecond); err != nil || n != 1 {
		t.Fatalf("expire old: %d %v", n, err)
	}

	// Without a callback nothing more is queued.
	if err := s.DeleteCallback(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCallback(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	final.State.Version, final.Events = 4, []contract.Event{{Type: "approved", At: at}}
	if ids, err := s.Record(ctx, final, nil); err != nil || len(ids) != 0 {
		t.Fatalf("record after delete: %v %v", ids, err)
	}
}

// TestRecordIsAtomic: a projection the database refuses writes nothing —
// no audit event, no outbound event — though its statements are pipelined.
func TestRecordIsAtomic(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	seedVerification(t, s, "t1", "vf_atomic")
	if err := s.SetCallback(ctx, "t1", "https://a.example/hook", []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	bad := contract.RecordInput{VerificationID: "vf_atomic", TenantID: "t1",
		State:  contract.State{Status: "bogus", ChecksLeft: 5, Version: 1},
		Events: []contract.Event{{Type: "sent", Channel: contract.ChannelSMS, At: at}, {Type: "approved", At: at}}}
	if ids, err := s.Record(ctx, bad, nil); err == nil {
		t.Fatalf("unknown status recorded: %v", ids)
	}
	if evs, err := s.Events(ctx, "vf_atomic"); err != nil || len(evs) != 0 {
		t.Fatalf("audit events after a refused projection: %v %v", evs, err)
	}
	if out, err := s.OutboundEvents(ctx, "t1", "vf_atomic"); err != nil || len(out) != 0 {
		t.Fatalf("outbound events after a refused projection: %v %v", out, err)
	}
	bad.State.Status = contract.StatusPending
	if ids, err := s.Record(ctx, bad, nil); err != nil || len(ids) != 2 {
		t.Fatalf("valid projection: %v %v", ids, err)
	}
}
