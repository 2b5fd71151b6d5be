package verify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/policy"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/store/storetest"
)

// fakeTemporal records workflow starts; every other method of the client
// is the nil interface's (a call panics: the use case must not make it).
type fakeTemporal struct {
	client.Client
	mu      sync.Mutex
	fail    error
	starts  []contract.VerificationInput
	updates int
	// lost: a start creates the workflow but its answer is lost (fail).
	lost bool
	// describeErr: Temporal cannot say whether a workflow exists.
	describeErr error
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil && !f.lost {
		return nil, f.fail
	}
	f.starts = append(f.starts, args[0].(contract.VerificationInput))
	return nil, f.fail
}

// DescribeWorkflowExecution answers whether a start created the workflow.
func (f *fakeTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	for _, in := range f.starts {
		if contract.WorkflowID(in.ID) == id {
			return &workflowservice.DescribeWorkflowExecutionResponse{}, nil
		}
	}
	return nil, serviceerror.NewNotFound("workflow not found")
}

// UpdateWorkflow stands for a slow workflow: it counts the call and
// blocks until the caller gives up.
func (f *fakeTemporal) UpdateWorkflow(ctx context.Context, _ client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	f.updates++
	f.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

func (f *fakeTemporal) started() []contract.VerificationInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]contract.VerificationInput(nil), f.starts...)
}

// newTestService returns a Service over a fresh Postgres with a guard
// that allows one start per destination per 10 minutes.
func newTestService(t *testing.T) (*Service, *store.Store, *fakeTemporal) {
	t.Helper()
	ctx := t.Context()
	st := storetest.Open(t)
	if err := st.EnsureTenant(ctx, "t1", "t1"); err != nil {
		t.Fatal(err)
	}
	secrets, err := otp.New(bytes.Repeat([]byte("k"), otp.MinSecretLen))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	g := guard.New(st, func(string) guard.Policy {
		p := guard.DefaultPolicy()
		p.Limits.PerDestination10Min = 1
		return p
	}, log)
	tc := &fakeTemporal{}
	return New(Deps{Store: st, Temporal: tc, Secrets: secrets, Log: log, Guard: g}), st, tc
}

func startInput(email, key string) StartInput {
	in := StartInput{Kind: contract.KindSignup, To: contract.Destinations{Email: email},
		Policy: policy.Default(contract.KindSignup), IdempotencyKey: key}
	in.Request = struct{ To contract.Destinations }{in.To}
	return in
}

var tenant = Tenant{ID: "t1", Mode: contract.ModeTest}

func kindOf(t *testing.T, err error, want ErrorKind) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Kind != want {
		t.Fatalf("error %v, want a %s *verify.Error", err, want)
	}
}

// TestStartIdempotency: one lookup decides a replay before the guard
// (which allows one start per destination here, so a replay that spent it
// again would be refused); a key reused with another request conflicts; a
// replay of a verification whose workflow never started starts it again.
func TestStartIdempotency(t *testing.T) {
	s, _, tc := newTestService(t)
	ctx := t.Context()
	first, err := s.Start(ctx, tenant, startInput("ada@example.com", "k1"))
	if err != nil || first.Replay {
		t.Fatalf("first start: %+v, %v", first, err)
	}
	if got := tc.started(); len(got) != 1 || got[0].ID != first.Verification.ID || !got[0].Supersede {
		t.Fatalf("workflow starts %+v, want one of %s with Supersede (signup's policy)", got, first.Verification.ID)
	}
	again, err := s.Start(ctx, tenant, startInput("ada@example.com", "k1"))
	if err != nil || !again.Replay || again.Verification.ID != first.Verification.ID {
		t.Fatalf("replay: %+v, %v", again, err)
	}
	// No worker projected the row (version 0): the replay restarted the
	// workflow, idempotently on Temporal's side.
	if n := len(tc.started()); n != 2 {
		t.Errorf("%d workflow starts after the replay, want 2", n)
	}
	_, err = s.Start(ctx, tenant, startInput("bob@example.com", "k1"))
	kindOf(t, err, IdempotencyConflict)
	// A new key to the same destination spends the guard: refused.
	_, err = s.Start(ctx, tenant, startInput("ada@example.com", "k2"))
	kindOf(t, err, RateLimited)
}

// TestStartCompensates: a workflow that cannot be started leaves no row
// and no key behind, so the retry with the same key starts afresh.
func TestStartCompensates(t *testing.T) {
	s, st, tc := newTestService(t)
	ctx := t.Context()
	tc.fail = errors.New("temporal down")
	_, err := s.Start(ctx, tenant, startInput("ada@example.com", "k1"))
	kindOf(t, err, Unavailable)
	if n, err := st.CountVerifications(ctx, "t1"); err != nil || n != 0 {
		t.Fatalf("%d verifications left after a failed start (%v), want 0", n, err)
	}
	if _, _, err := st.IdempotencyKey(ctx, "t1", "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("idempotency key left after a failed start: %v", err)
	}
	tc.fail = nil
	// The guard was spent by the failed start: use another destination.
	res, err := s.Start(ctx, tenant, startInput("bob@example.com", "k1"))
	if err != nil || res.Replay {
		t.Fatalf("retry: %+v, %v", res, err)
	}
}

// TestStartAnswerLost: a start whose answer was lost (a timeout) while
// Temporal created the workflow is a start: its row stays and the start
// succeeds, so no second verification is made for the same person.
func TestStartAnswerLost(t *testing.T) {
	s, st, tc := newTestService(t)
	ctx := t.Context()
	tc.fail, tc.lost = context.DeadlineExceeded, true
	res, err := s.Start(ctx, tenant, startInput("ada@example.com", "k1"))
	if err != nil || res.Verification.ID == "" {
		t.Fatalf("start: %+v, %v", res, err)
	}
	if n, err := st.CountVerifications(ctx, "t1"); err != nil || n != 1 {
		t.Fatalf("%d verifications (%v), want 1", n, err)
	}
}

// TestStartOutcomeUnknown: when Temporal can say neither yes nor no, the
// row and its key stay; the retry with the key replays the start (same
// verification, the workflow started again idempotently).
func TestStartOutcomeUnknown(t *testing.T) {
	s, st, tc := newTestService(t)
	ctx := t.Context()
	tc.fail, tc.describeErr = context.DeadlineExceeded, errors.New("temporal down")
	_, err := s.Start(ctx, tenant, startInput("ada@example.com", "k1"))
	kindOf(t, err, Unavailable)
	id, _, err := st.IdempotencyKey(ctx, "t1", "k1")
	if err != nil {
		t.Fatalf("the key was dropped: %v", err)
	}
	tc.fail, tc.describeErr = nil, nil
	res, err := s.Start(ctx, tenant, startInput("ada@example.com", "k1"))
	if err != nil || !res.Replay || res.Verification.ID != id {
		t.Fatalf("retry: %+v, %v; want a replay of %s", res, err, id)
	}
	if got := tc.started(); len(got) != 1 || got[0].ID != id {
		t.Fatalf("workflow starts %v, want one of %s", got, id)
	}
	if n, err := st.CountVerifications(ctx, "t1"); err != nil || n != 1 {
		t.Fatalf("%d verifications (%v), want 1", n, err)
	}
}

// TestStartRace: concurrent starts with one key make one verification;
// the losers of the insert race answer it as replays.
func TestStartRace(t *testing.T) {
	s, st, _ := newTestService(t)
	s.d.Guard = nil // the race is about the key, not the budgets
	ctx := t.Context()
	const n = 8
	var wg sync.WaitGroup
	res := make([]Started, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { res[i], errs[i] = s.Start(ctx, tenant, startInput("ada@example.com", "race")) })
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("start %d: %v", i, errs[i])
		}
		if res[i].Verification.ID != res[0].Verification.ID {
			t.Errorf("start %d answered %s, start 0 %s", i, res[i].Verification.ID, res[0].Verification.ID)
		}
		if !res[i].Replay {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d fresh starts, want 1", fresh)
	}
	if c, err := st.CountVerifications(ctx, "t1"); err != nil || c != 1 {
		t.Errorf("%d verifications (%v), want 1", c, err)
	}
}

// TestAuthenticate: a created key authenticates as its tenant; a wrong
// secret, a wrong mode, garbage and a revoked key do not.
func TestAuthenticate(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := t.Context()
	k, err := s.CreateKey(ctx, "acme", contract.ModeLive, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Authenticate(ctx, k.String())
	if err != nil || got != (Tenant{ID: "acme", Mode: contract.ModeLive, KeyID: k.ID}) {
		t.Fatalf("Authenticate: %+v, %v", got, err)
	}
	wrongSecret, wrongMode := k, k
	wrongSecret.Secret = k.Secret[:len(k.Secret)-1] + "x"
	if k.Secret[len(k.Secret)-1] == 'x' {
		wrongSecret.Secret = k.Secret[:len(k.Secret)-1] + "y"
	}
	wrongMode.Mode = contract.ModeTest
	for _, bad := range []string{"", "vf_live_nope", wrongSecret.String(), wrongMode.String()} {
		_, err := s.Authenticate(ctx, bad)
		kindOf(t, err, Unauthorized)
	}
	if _, err := s.RevokeKey(ctx, k.String()); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, k.String())
	kindOf(t, err, Unauthorized)
	_, err = s.RevokeKey(ctx, "nosuchkey")
	kindOf(t, err, NotFound)
}

// TestStartLeavesSupersedeToTheWorkflow: a start to a destination with an
// older pending code asks its own workflow to supersede it (durably,
// before the first send) and calls into no other workflow, so a slow
// older workflow cannot hold the answer; the older row is untouched.
func TestStartLeavesSupersedeToTheWorkflow(t *testing.T) {
	s, st, tc := newTestService(t)
	s.d.Guard = nil
	ctx := t.Context()
	old, err := s.Start(ctx, tenant, startInput("ada@example.com", ""))
	if err != nil {
		t.Fatal(err)
	}
	keep := startInput("ada@example.com", "")
	keep.Policy.Supersede = false
	if _, err := s.Start(ctx, tenant, keep); err != nil {
		t.Fatal(err)
	}
	next, err := s.Start(ctx, tenant, startInput("ada@example.com", ""))
	if err != nil {
		t.Fatal(err)
	}
	tc.mu.Lock()
	updates := tc.updates
	tc.mu.Unlock()
	if updates != 0 {
		t.Errorf("the start made %d workflow updates, want none", updates)
	}
	starts := tc.started()
	if len(starts) != 3 || !starts[2].Supersede || starts[2].ID != next.Verification.ID || starts[1].Supersede {
		t.Errorf("workflow inputs %+v: want the third (and only it of the last two) to supersede", starts)
	}
	row, err := st.GetVerification(ctx, "t1", old.Verification.ID)
	if err != nil || row.Status != contract.StatusPending {
		t.Errorf("older verification %+v, %v: want it still pending (its workflow cancels it)", row.Status, err)
	}
}
