package receipts

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/store"
)

// fakeStore knows one message and records what is marked applied.
type fakeStore struct {
	next    int64
	applied []int64
}

func (f *fakeStore) InsertReceipt(context.Context, contract.Receipt, string) (int64, bool, error) {
	f.next++
	return f.next, false, nil
}
func (f *fakeStore) MessageOwner(context.Context, string, string) (string, string, error) {
	return "vf_1", "acme", nil
}
func (f *fakeStore) UnappliedReceipts(context.Context, string, string) ([]contract.Receipt, error) {
	return nil, nil
}
func (f *fakeStore) MarkReceiptApplied(_ context.Context, id int64, _ string) error {
	f.applied = append(f.applied, id)
	return nil
}
func (f *fakeStore) AppendEvent(context.Context, string, string, contract.Event) error { return nil }

type fakeSignaler struct{ statuses []contract.AttemptStatus }

func (f *fakeSignaler) SignalWorkflow(_ context.Context, _, _, _ string, arg any) error {
	f.statuses = append(f.statuses, arg.(contract.Receipt).Status)
	return nil
}

// TestInformationalReceiptsAreStoredNotSignalled: queued and sent receipts
// cannot change an attempt, so they are stored and marked applied without
// costing the workflow a signal; the others are signalled.
func TestInformationalReceiptsAreStoredNotSignalled(t *testing.T) {
	st, sig := &fakeStore{}, &fakeSignaler{}
	s := New(st, sig, slog.New(slog.DiscardHandler))
	for _, status := range []contract.AttemptStatus{contract.AttemptQueued, contract.AttemptSent, contract.AttemptDelivered, contract.AttemptRead, contract.AttemptFailed} {
		if err := s.Ingest(t.Context(), contract.Receipt{Provider: "p", MessageID: "m", Status: status}); err != nil {
			t.Fatal(err)
		}
	}
	want := []contract.AttemptStatus{contract.AttemptDelivered, contract.AttemptRead, contract.AttemptFailed}
	if len(sig.statuses) != len(want) {
		t.Fatalf("signalled %v, want %v", sig.statuses, want)
	}
	for i := range want {
		if sig.statuses[i] != want[i] {
			t.Fatalf("signalled %v, want %v", sig.statuses, want)
		}
	}
	if len(st.applied) != 5 {
		t.Fatalf("marked applied %v, want all 5 receipts", st.applied)
	}
}

// strandedStore returns its stranded receipts once.
type strandedStore struct{ stranded []store.StrandedReceipt }

func (s *strandedStore) StrandedReceipts(context.Context, time.Duration, int) ([]store.StrandedReceipt, error) {
	out := s.stranded
	s.stranded = nil
	return out, nil
}

// TestRelaySignalsStrandedReceipts: the relay signals each stranded
// receipt to its verification and marks it applied.
func TestRelaySignalsStrandedReceipts(t *testing.T) {
	st, sig := &fakeStore{}, &fakeSignaler{}
	relay := NewRelay(&strandedStore{stranded: []store.StrandedReceipt{
		{Receipt: contract.Receipt{ID: 7, Provider: "p", MessageID: "m", Status: contract.AttemptFailed}, VerificationID: "vf_1", TenantID: "acme"},
		{Receipt: contract.Receipt{ID: 8, Provider: "p", MessageID: "m", Status: contract.AttemptSent}, VerificationID: "vf_1", TenantID: "acme"},
	}}, New(st, sig, slog.New(slog.DiscardHandler)), slog.New(slog.DiscardHandler))
	n, err := relay.Once(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("Once = %d, %v", n, err)
	}
	if len(sig.statuses) != 1 || sig.statuses[0] != contract.AttemptFailed {
		t.Fatalf("signalled %v, want the failure only", sig.statuses)
	}
	if len(st.applied) != 2 || st.applied[0] != 7 || st.applied[1] != 8 {
		t.Fatalf("applied %v", st.applied)
	}
	if n, err := relay.Once(t.Context()); err != nil || n != 0 {
		t.Fatalf("second Once = %d, %v", n, err)
	}
}
