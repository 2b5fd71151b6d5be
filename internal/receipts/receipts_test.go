package receipts

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/store"
)

// fakeStore knows one message and records what is marked applied. With
// lateOwner the message is unknown to IngestReceipt but known to
// MessageOwner (registered while the receipt was stored); with noOwner it
// is unknown to both; with dup every receipt is a duplicate.
type fakeStore struct {
	next               int64
	applied            []int64
	lateOwner, noOwner bool
	dup                bool
	ownerLookups       int
	pending            []contract.Receipt
	markCalls          int
}

func (f *fakeStore) IngestReceipt(_ context.Context, r contract.Receipt, _ string, applyInformational bool) (store.IngestedReceipt, error) {
	if f.dup {
		return store.IngestedReceipt{ID: 1, Duplicate: true}, nil
	}
	f.next++
	if f.lateOwner || f.noOwner {
		return store.IngestedReceipt{ID: f.next}, nil
	}
	in := store.IngestedReceipt{ID: f.next, VerificationID: "vf_1", TenantID: "acme"}
	if applyInformational && r.Status.Informational() {
		in.Applied = true
		f.applied = append(f.applied, in.ID)
	}
	return in, nil
}
func (f *fakeStore) MessageOwner(context.Context, string, string) (string, string, error) {
	f.ownerLookups++
	if f.noOwner {
		return "", "", store.ErrNotFound
	}
	return "vf_1", "acme", nil
}
func (f *fakeStore) UnappliedReceipts(context.Context, string, string) ([]contract.Receipt, error) {
	return f.pending, nil
}
func (f *fakeStore) MarkReceiptsApplied(_ context.Context, ids []int64, _ string) error {
	f.markCalls++
	f.applied = append(f.applied, ids...)
	return nil
}
func (f *fakeStore) AppendEvent(context.Context, string, string, contract.Event) error { return nil }

// fakeSignaler records the signalled statuses; it fails those of failOn.
type fakeSignaler struct {
	statuses []contract.AttemptStatus
	failOn   contract.AttemptStatus
}

func (f *fakeSignaler) SignalWorkflow(_ context.Context, _, _, _ string, arg any) error {
	st := arg.(contract.Receipt).Status
	if st == f.failOn {
		return errors.New("temporal unreachable")
	}
	f.statuses = append(f.statuses, st)
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

// TestIngestLooksUpALateOwnerOnce: a receipt whose message was not
// registered when it was stored is looked up once more (the send may have
// registered it meanwhile) and signalled when found; it stays stored when
// not; a duplicate is neither looked up nor signalled; a known owner costs
// no second look.
func TestIngestLooksUpALateOwnerOnce(t *testing.T) {
	failed := contract.Receipt{Provider: "p", MessageID: "m", Status: contract.AttemptFailed}
	for _, c := range []struct {
		name                    string
		st                      *fakeStore
		lookups, signals, marks int
	}{
		{"known owner", &fakeStore{}, 0, 1, 1},
		{"registered meanwhile", &fakeStore{lateOwner: true}, 1, 1, 1},
		{"not registered", &fakeStore{noOwner: true}, 1, 0, 0},
		{"duplicate", &fakeStore{dup: true}, 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			sig := &fakeSignaler{}
			if err := New(c.st, sig, slog.New(slog.DiscardHandler)).Ingest(t.Context(), failed); err != nil {
				t.Fatal(err)
			}
			if c.st.ownerLookups != c.lookups || len(sig.statuses) != c.signals || len(c.st.applied) != c.marks {
				t.Fatalf("lookups %d signals %d marks %d, want %d %d %d",
					c.st.ownerLookups, len(sig.statuses), len(c.st.applied), c.lookups, c.signals, c.marks)
			}
		})
	}
}

// TestDropFirstKeepsInformationalReceiptsForTheRelay: under the fault
// injection an informational receipt is not stored applied, so the relay
// delivers it like every other first delivery.
func TestDropFirstKeepsInformationalReceiptsForTheRelay(t *testing.T) {
	st, sig := &fakeStore{}, &fakeSignaler{}
	s := New(st, sig, slog.New(slog.DiscardHandler))
	s.DropFirstSignals()
	if err := s.Ingest(t.Context(), contract.Receipt{Provider: "p", MessageID: "m", Status: contract.AttemptSent}); err != nil {
		t.Fatal(err)
	}
	if len(st.applied) != 0 || len(sig.statuses) != 0 {
		t.Fatalf("applied %v, signalled %v: want neither", st.applied, sig.statuses)
	}
}

// TestApplyPendingMarksOnce: the pending receipts of a registered message
// are signalled and those that reached it are marked applied in one call;
// one whose signal failed stays unapplied for the relay.
func TestApplyPendingMarksOnce(t *testing.T) {
	st := &fakeStore{pending: []contract.Receipt{
		{ID: 1, Provider: "p", MessageID: "m", Status: contract.AttemptSent},
		{ID: 2, Provider: "p", MessageID: "m", Status: contract.AttemptFailed},
		{ID: 3, Provider: "p", MessageID: "m", Status: contract.AttemptDelivered},
	}}
	sig := &fakeSignaler{failOn: contract.AttemptFailed}
	if err := New(st, sig, slog.New(slog.DiscardHandler)).ApplyPending(t.Context(), "p", "m", "vf_1", "acme"); err != nil {
		t.Fatal(err)
	}
	if st.markCalls != 1 || len(st.applied) != 2 || st.applied[0] != 1 || st.applied[1] != 3 {
		t.Fatalf("%d mark calls, applied %v; want one call for 1 and 3", st.markCalls, st.applied)
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
