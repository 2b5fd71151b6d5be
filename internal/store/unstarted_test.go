package store

import (
	"errors"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

// TestDeleteUnstartedVerification: the API deletes a verification whose
// workflow start failed, so that a retry with the same Idempotency-Key
// starts afresh. A start can fail on the API's side (a timeout) although
// Temporal started the workflow: once that workflow has projected (version
// > 0) the row stays, and so must its Idempotency-Key — else the client's
// retry starts a second verification for the same destination and both
// send a code (the chaos run's duplicate sends).
func TestDeleteUnstartedVerification(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	if err := s.EnsureTenant(ctx, "t1", "t1"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	insert := func(id, key string) {
		t.Helper()
		_, replay, err := s.InsertVerification(ctx, StartRequest{IdempotencyKey: key, RequestHash: []byte("h"),
			Verification: Verification{ID: id, TenantID: "t1", Mode: contract.ModeLive, Kind: contract.KindSignup,
				Status: contract.StatusPending, ChecksLeft: 5, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}})
		if err != nil || replay {
			t.Fatalf("insert %s: replay %v, %v", id, replay, err)
		}
	}

	// Never started: the row and its key go.
	insert("vf_unstarted", "k-unstarted")
	if err := s.DeleteUnstartedVerification(ctx, "t1", "vf_unstarted"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetVerification(ctx, "t1", "vf_unstarted"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unstarted row: %v, want ErrNotFound", err)
	}
	if _, _, err := s.IdempotencyKey(ctx, "t1", "k-unstarted"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unstarted key: %v, want ErrNotFound", err)
	}

	// Started after all (its workflow projected): the row and its key stay,
	// so the client's retry answers this verification.
	insert("vf_started", "k-started")
	if _, err := s.pool.Exec(ctx, `update verifications set version = 1 where id = 'vf_started'`); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUnstartedVerification(ctx, "t1", "vf_started"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetVerification(ctx, "t1", "vf_started"); err != nil {
		t.Fatalf("started row: %v", err)
	}
	id, _, err := s.IdempotencyKey(ctx, "t1", "k-started")
	if err != nil || id != "vf_started" {
		t.Fatalf("started key: %q %v, want vf_started (a retry would start a second verification)", id, err)
	}

	// A send claimed (local sends: the first send comes before any
	// projection, the row still at version 0): the row stays.
	insert("vf_sending", "k-sending")
	if _, err := s.ClaimSend(ctx, SendAttempt{Key: "vf_sending/1", VerificationID: "vf_sending", TenantID: "t1",
		Provider: "sandbox", Lease: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUnstartedVerification(ctx, "t1", "vf_sending"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetVerification(ctx, "t1", "vf_sending"); err != nil {
		t.Fatalf("row with a claimed send: %v", err)
	}
}
