package activities

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/store/storetest"
)

// fakeUpdates is a Temporal client whose cancel updates answer per
// workflow id: nil (canceled) unless outcomes says otherwise.
type fakeUpdates struct {
	client.Client
	outcomes map[string]error

	mu    sync.Mutex
	calls []client.UpdateWorkflowOptions
}

func (f *fakeUpdates) UpdateWorkflow(ctx context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, o)
	return fakeHandle{err: f.outcomes[o.WorkflowID]}, nil
}

func (f *fakeUpdates) workflowIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.WorkflowID)
	}
	return out
}

type fakeHandle struct {
	client.WorkflowUpdateHandle
	err error
}

func (h fakeHandle) Get(ctx context.Context, valuePtr any) error { return h.err }

func TestSupersede(t *testing.T) {
	ctx := t.Context()
	st := storetest.Open(t)
	secrets, err := otp.New(bytes.Repeat([]byte("k"), otp.MinSecretLen))
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range []string{"t1", "t2"} {
		if err := st.EnsureTenant(ctx, tn, tn); err != nil {
			t.Fatal(err)
		}
	}
	const phone, email = "+15005550006", "ada@example.com"
	now := time.Now().UTC().Truncate(time.Millisecond)
	insert := func(id, tenant string, kind contract.Kind, status contract.Status, phone, email string, age time.Duration) {
		t.Helper()
		v := store.Verification{ID: id, TenantID: tenant, Mode: contract.ModeTest, Kind: kind, Status: status, ChecksLeft: 5,
			CreatedAt: now.Add(-age), ExpiresAt: now.Add(time.Hour)}
		if status.Final() { // the read model requires completed_at exactly then
			v.CompletedAt = &now
		}
		if phone != "" {
			v.ToPhoneHash = secrets.HashDestination(phone)
		}
		if email != "" {
			v.ToEmailHash = secrets.HashDestination(email)
		}
		if _, _, err := st.InsertVerification(ctx, store.StartRequest{Verification: v}); err != nil {
			t.Fatal(err)
		}
	}
	insert("vf_new", "t1", contract.KindSignup, contract.StatusPending, phone, email, 0)
	insert("vf_old1", "t1", contract.KindSignup, contract.StatusPending, phone, "", 3*time.Minute)             // canceled
	insert("vf_gone", "t1", contract.KindSignup, contract.StatusPending, phone, "", 2*time.Minute)             // workflow not found
	insert("vf_old2", "t1", contract.KindSignup, contract.StatusPending, "", email, time.Minute)               // already final
	insert("vf_newer", "t1", contract.KindSignup, contract.StatusPending, phone, "", -time.Second)             // newer: kept
	insert("vf_txn", "t1", contract.KindTransaction, contract.StatusPending, phone, "", time.Minute)           // other kind
	insert("vf_elsewhere", "t1", contract.KindSignup, contract.StatusPending, "+15005550001", "", time.Minute) // other phone
	insert("vf_done", "t1", contract.KindSignup, contract.StatusApproved, phone, "", time.Minute)              // not pending
	insert("vf_t2", "t2", contract.KindSignup, contract.StatusPending, phone, email, time.Minute)              // other tenant

	fake := &fakeUpdates{outcomes: map[string]error{
		contract.WorkflowID("vf_gone"): serviceerror.NewNotFound("workflow not found"),
		contract.WorkflowID("vf_old2"): temporal.NewApplicationError("verification is approved", contract.ErrTypeNotPending),
	}}
	a := &Activities{Store: st, Secrets: secrets, Temporal: fake, Log: slog.New(slog.DiscardHandler)}
	in := contract.SupersedeInput{VerificationID: "vf_new", TenantID: "t1", Kind: contract.KindSignup,
		To: contract.Destinations{Phone: phone, Email: email}}
	if err := a.Supersede(ctx, in); err != nil {
		t.Fatal(err)
	}

	want := []string{contract.WorkflowID("vf_old1"), contract.WorkflowID("vf_gone"), contract.WorkflowID("vf_old2")}
	if got := fake.workflowIDs(); !slices.Equal(got, want) {
		t.Fatalf("canceled %v, want %v (oldest first, nothing else)", got, want)
	}
	for _, c := range fake.calls {
		if c.UpdateName != contract.UpdateCancel || c.UpdateID != "supersede/vf_new" || c.WaitForStage != client.WorkflowUpdateStageCompleted {
			t.Fatalf("update options %+v", c)
		}
	}
	for id, superseded := range map[string]bool{"vf_old1": true, "vf_gone": false, "vf_old2": false, "vf_newer": false} {
		evs, err := st.Events(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got := len(evs) == 1 && evs[0].Type == string(contract.EventSuperseded) && evs[0].Detail == "vf_new"
		if got != superseded || (!superseded && len(evs) != 0) {
			t.Fatalf("%s: events %+v, superseded %v", id, evs, superseded)
		}
	}

	// Any other failure is returned, so Temporal retries the activity; the
	// other old verifications are still canceled.
	down := errors.New("frontend unavailable")
	fake.outcomes[contract.WorkflowID("vf_gone")] = down
	fake.calls = nil
	err = a.Supersede(ctx, in)
	if !errors.Is(err, down) {
		t.Fatalf("err %v, want %v", err, down)
	}
	if got := fake.workflowIDs(); len(got) != 3 {
		t.Fatalf("retry canceled %v", got)
	}
}
