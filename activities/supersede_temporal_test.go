package activities_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/activities"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/devstack"
	"github.com/veriflow/veriflow/internal/localpg"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/store/storetest"
	"github.com/veriflow/veriflow/workflows"
)

// TestSupersedeWithTemporal runs the real Verification workflow and the
// real Supersede and Record activities on a Temporal dev server (SendCode
// is faked): a second verification of the same destination started with
// Supersede cancels the first before it sends, the first's code is then
// refused, and the old verification carries the audit event.
func TestSupersedeWithTemporal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	srv, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{})
	if errors.Is(err, devstack.ErrNoTemporalCLI) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	dsn := localpg.ForTest(t)
	tc, err := client.Dial(client.Options{HostPort: srv.Addr, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	st := storetest.OpenURL(t, dsn)
	if err := st.EnsureTenant(ctx, "t1", "t1"); err != nil {
		t.Fatal(err)
	}
	secrets, err := otp.New(bytes.Repeat([]byte("k"), otp.MinSecretLen))
	if err != nil {
		t.Fatal(err)
	}

	const queue = "supersede-test"
	acts := &activities.Activities{Store: st, Secrets: secrets, Temporal: tc, Log: slog.New(slog.DiscardHandler)}
	w := sdkworker.New(tc, queue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(workflows.Verification, workflow.RegisterOptions{Name: contract.WorkflowVerification})
	w.RegisterActivityWithOptions(acts.Record, activity.RegisterOptions{Name: contract.ActivityRecord})
	w.RegisterActivityWithOptions(acts.Supersede, activity.RegisterOptions{Name: contract.ActivitySupersede})
	w.RegisterActivityWithOptions(acts.Commit, activity.RegisterOptions{Name: contract.ActivityCommit})
	w.RegisterActivityWithOptions(func(ctx context.Context, in contract.SendInput) (contract.SendResult, error) {
		code := secrets.Code(in.VerificationID, in.Generation, "", in.CodeLength)
		return contract.SendResult{Provider: "fake", MessageID: in.VerificationID, CodeHash: secrets.Hash(in.VerificationID, code)}, nil
	}, activity.RegisterOptions{Name: contract.ActivitySendCode})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	to := contract.Destinations{Phone: "+15005550006"}
	start := func(id string, supersede bool) contract.VerificationInput {
		t.Helper()
		now := time.Now().UTC().Truncate(time.Microsecond)
		in := contract.VerificationInput{ID: id, TenantID: "t1", Mode: contract.ModeTest, Kind: contract.KindSignup, To: to,
			Plan:      contract.Plan{Channels: []contract.Channel{contract.ChannelSMS}, StepTimeout: time.Minute},
			Policy:    contract.CodePolicy{Length: 6, TTL: 10 * time.Minute, MaxChecks: 3, ResendCooldown: time.Minute, MaxSends: 3},
			CreatedAt: now, Supersede: supersede}
		if _, _, err := st.InsertVerification(ctx, store.StartRequest{Verification: store.Verification{ID: id, TenantID: "t1",
			Mode: in.Mode, Kind: in.Kind, Status: contract.StatusPending, ChecksLeft: 3, CreatedAt: now, ExpiresAt: now.Add(in.Policy.TTL),
			ToPhoneHash: secrets.HashDestination(to.Phone)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.WorkflowID(id), TaskQueue: queue},
			contract.WorkflowVerification, in); err != nil {
			t.Fatal(err)
		}
		return in
	}
	state := func(id string) contract.State {
		t.Helper()
		v, err := tc.QueryWorkflow(ctx, contract.WorkflowID(id), "", contract.QueryState)
		if err != nil {
			t.Fatal(err)
		}
		var s contract.State
		if err := v.Get(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	waitSent := func(id string) {
		t.Helper()
		for state(id).Sends == 0 {
			select {
			case <-ctx.Done():
				t.Fatalf("%s never sent", id)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}

	start("vf_old", false)
	waitSent("vf_old")
	start("vf_new", true)
	waitSent("vf_new")

	// The old workflow answered the cancel before the new code went out.
	var old contract.State
	if err := tc.GetWorkflow(ctx, contract.WorkflowID("vf_old"), "").Get(ctx, &old); err != nil {
		t.Fatal(err)
	}
	if old.Status != contract.StatusCanceled || old.CompletedAt == nil {
		t.Fatalf("old verification %+v", old)
	}
	if s := state("vf_new"); s.Status != contract.StatusPending || s.Sends != 1 {
		t.Fatalf("new verification %+v", s)
	}
	evs, err := st.Events(ctx, "vf_old")
	if err != nil {
		t.Fatal(err)
	}
	var superseded int
	for _, e := range evs {
		if e.Type == string(contract.EventSuperseded) && e.Detail == "vf_new" {
			superseded++
		}
	}
	if superseded != 1 {
		t.Fatalf("old verification's audit trail %+v", evs)
	}

	// The old code is refused: its workflow is closed.
	code := secrets.Code("vf_old", 0, "", 6)
	h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: contract.WorkflowID("vf_old"),
		UpdateName: contract.UpdateCheck, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{contract.CheckInput{CodeHash: secrets.Hash("vf_old", code)}}})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	var closed *serviceerror.NotFound
	if !errors.As(err, &closed) {
		t.Fatalf("old code: %v, want the closed workflow's NotFound", err)
	}

	// Superseding again finds nothing pending and succeeds (a retried
	// activity is harmless).
	if err := acts.Supersede(ctx, contract.SupersedeInput{VerificationID: "vf_new", TenantID: "t1", Kind: contract.KindSignup, To: to}); err != nil {
		t.Fatal(err)
	}

	// The new workflow's history, supersede branch included, replays.
	h, err = tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: contract.WorkflowID("vf_new"),
		UpdateName: contract.UpdateCancel, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := tc.GetWorkflow(ctx, contract.WorkflowID("vf_new"), "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	hist := &historypb.History{}
	it := tc.GetWorkflowHistory(ctx, contract.WorkflowID("vf_new"), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, e)
	}
	r := sdkworker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.Verification, workflow.RegisterOptions{Name: contract.WorkflowVerification})
	if err := r.ReplayWorkflowHistory(nil, hist); err != nil {
		t.Fatalf("replay: %v", err)
	}
}
