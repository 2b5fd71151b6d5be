package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

// ingestFixture is a store with one verification (vf_r1 of tenant t1)
// whose message m1 of provider p is registered.
func ingestFixture(t *testing.T) *Store {
	t.Helper()
	s := openLimits(t)
	seedVerification(t, s, "t1", "vf_r1")
	if err := s.RegisterMessage(t.Context(), Message{Provider: "p", ProviderMessageID: "m1", VerificationID: "vf_r1",
		TenantID: "t1", Seq: 1, Channel: contract.ChannelSMS}); err != nil {
		t.Fatal(err)
	}
	return s
}

func receiptOf(msg string, st contract.AttemptStatus) (contract.Receipt, string) {
	r := contract.Receipt{Provider: "p", MessageID: msg, Status: st, OccurredAt: time.Now().UTC()}
	return r, r.Provider + "|" + r.MessageID + "|" + string(r.Status)
}

// unappliedIDs returns the ids of msg's unapplied receipts.
func unappliedIDs(t *testing.T, s *Store, msg string) map[int64]bool {
	t.Helper()
	rs, err := s.UnappliedReceipts(t.Context(), "p", msg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]bool{}
	for _, r := range rs {
		out[r.ID] = true
	}
	return out
}

// TestIngestReceipt: one statement stores a receipt and returns its owner
// when the message is registered, none when it is not (the receipt stays
// unapplied for ApplyPending); a duplicate stores nothing and returns the
// first id; an informational receipt of a known message is stored applied
// only when asked, and never when its message is unknown.
func TestIngestReceipt(t *testing.T) {
	s := ingestFixture(t)
	ctx := t.Context()
	ingest := func(msg string, st contract.AttemptStatus, applyInfo bool) IngestedReceipt {
		t.Helper()
		r, key := receiptOf(msg, st)
		r.Error = "x"
		in, err := s.IngestReceipt(ctx, r, key, applyInfo)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	delivered := ingest("m1", contract.AttemptDelivered, true)
	if want := (IngestedReceipt{ID: delivered.ID, VerificationID: "vf_r1", TenantID: "t1"}); delivered.ID == 0 || delivered != want {
		t.Fatalf("delivered: %+v", delivered)
	}
	sent := ingest("m1", contract.AttemptSent, true)
	if want := (IngestedReceipt{ID: sent.ID, VerificationID: "vf_r1", TenantID: "t1", Applied: true}); sent.ID == 0 || sent != want {
		t.Fatalf("sent: %+v", sent)
	}
	queued := ingest("m1", contract.AttemptQueued, false)
	if queued.Applied || queued.VerificationID != "vf_r1" {
		t.Fatalf("queued without applyInformational: %+v", queued)
	}
	if dup := ingest("m1", contract.AttemptSent, true); dup != (IngestedReceipt{ID: sent.ID, Duplicate: true}) {
		t.Fatalf("duplicate sent: %+v, want id %d", dup, sent.ID)
	}
	if dup := ingest("m1", contract.AttemptDelivered, true); dup != (IngestedReceipt{ID: delivered.ID, Duplicate: true}) {
		t.Fatalf("duplicate delivered: %+v, want id %d", dup, delivered.ID)
	}
	if got := unappliedIDs(t, s, "m1"); len(got) != 2 || !got[delivered.ID] || !got[queued.ID] {
		t.Fatalf("unapplied %v, want delivered %d and queued %d", got, delivered.ID, queued.ID)
	}
	// Stored applied as MarkReceiptApplied would: verification and time.
	var vid string
	var applied bool
	if err := s.pool.QueryRow(ctx, `select coalesce(verification_id, ''), applied_at is not null from receipts where id = $1`, sent.ID).
		Scan(&vid, &applied); err != nil || vid != "vf_r1" || !applied {
		t.Fatalf("sent row: %q %v %v", vid, applied, err)
	}
	var errText string
	if err := s.pool.QueryRow(ctx, `select error from receipts where id = $1`, delivered.ID).Scan(&errText); err != nil || errText != "x" {
		t.Fatalf("delivered error %q %v", errText, err)
	}

	// Not registered (yet): stored, no owner, unapplied even if informational.
	early := ingest("m2", contract.AttemptSent, true)
	if early.ID == 0 || early.Applied || early.Duplicate || early.VerificationID != "" || early.TenantID != "" {
		t.Fatalf("early: %+v", early)
	}
	if got := unappliedIDs(t, s, "m2"); len(got) != 1 || !got[early.ID] {
		t.Fatalf("unapplied m2 %v", got)
	}
}

// awaitLockWaiter waits until another backend waits on a lock in a
// receipts insert (the IngestReceipt statement blocked by tx's row).
func awaitLockWaiter(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := s.pool.QueryRow(t.Context(), `select count(*) from pg_stat_activity
			where wait_event_type = 'Lock' and query like '%insert into receipts%' and pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("IngestReceipt never waited for the concurrent insert")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIngestReceiptConcurrentDuplicate: a duplicate whose first copy is
// being inserted by another transaction waits for it; once that commits,
// the statement (whose snapshot cannot see the row) still answers
// Duplicate with the first id; once it rolls back, the waiting copy is
// stored as the first.
func TestIngestReceiptConcurrentDuplicate(t *testing.T) {
	s := ingestFixture(t)
	ctx := t.Context()
	for _, commit := range []bool{true, false} {
		st := contract.AttemptDelivered
		if !commit {
			st = contract.AttemptFailed
		}
		r, key := receiptOf("m1", st)
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var firstID int64
		if err := tx.QueryRow(ctx, `insert into receipts (provider, provider_message_id, status, occurred_at, dedupe_key)
			values ($1, $2, $3, $4, $5) returning id`, r.Provider, r.MessageID, string(r.Status), r.OccurredAt, key).Scan(&firstID); err != nil {
			t.Fatal(err)
		}
		type result struct {
			in  IngestedReceipt
			err error
		}
		done := make(chan result, 1)
		go func() {
			in, err := s.IngestReceipt(ctx, r, key, true)
			done <- result{in, err}
		}()
		awaitLockWaiter(t, s)
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		got := <-done
		if got.err != nil {
			t.Fatalf("commit=%v: %v", commit, got.err)
		}
		if commit && got.in != (IngestedReceipt{ID: firstID, Duplicate: true}) {
			t.Fatalf("after the first's commit: %+v, want duplicate of %d", got.in, firstID)
		}
		if !commit && (got.in.Duplicate || got.in.ID == firstID || got.in.VerificationID != "vf_r1") {
			t.Fatalf("after the first's rollback: %+v, want a new receipt with its owner", got.in)
		}
	}
}

// TestIngestReceiptRacingCopies: many copies of one receipt at once (a
// provider retrying its webhook) store one row; exactly one copy is not a
// duplicate, so one is signalled, and all name the same id.
func TestIngestReceiptRacingCopies(t *testing.T) {
	s := ingestFixture(t)
	const copies = 16
	for round := range 5 {
		r, key := receiptOf("m1", contract.AttemptStatus([]string{"delivered", "read", "failed", "sent", "queued"}[round]))
		var wg sync.WaitGroup
		results := make([]IngestedReceipt, copies)
		errs := make([]error, copies)
		start := make(chan struct{})
		for i := range copies {
			wg.Go(func() {
				<-start
				results[i], errs[i] = s.IngestReceipt(context.WithoutCancel(t.Context()), r, key, true)
			})
		}
		close(start)
		wg.Wait()
		firsts := 0
		for i := range copies {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if results[i].ID != results[0].ID {
				t.Fatalf("round %d: ids differ: %+v", round, results)
			}
			if !results[i].Duplicate {
				firsts++
			}
		}
		var rows int
		if err := s.pool.QueryRow(t.Context(), `select count(*) from receipts where dedupe_key = $1`, key).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if firsts != 1 || rows != 1 {
			t.Fatalf("round %d: %d non-duplicates, %d rows; want 1 and 1", round, firsts, rows)
		}
	}
}
