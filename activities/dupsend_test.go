package activities

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.temporal.io/sdk/temporal"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/store/storetest"
)

// storeVerification inserts the read-model row of verification id, as the
// API does before it starts the workflow: SendCode sends nothing for a
// verification Postgres does not hold.
func storeVerification(t *testing.T, st *store.Store, id, tenant, idemKey string) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	if err := st.EnsureTenant(ctx, tenant, tenant); err != nil {
		t.Error(err)
		return
	}
	now := time.Now().UTC()
	req := store.StartRequest{Verification: store.Verification{ID: id, TenantID: tenant, Mode: contract.ModeLive,
		Kind: contract.KindTwoFactor, Status: contract.StatusPending, ChecksLeft: 5, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}}
	if idemKey != "" {
		req.IdempotencyKey, req.RequestHash = idemKey, []byte("hash")
	}
	if _, _, err := st.InsertVerification(ctx, req); err != nil {
		t.Error(err)
	}
}

// TestSendLedgerVerificationGone: the API starts a verification's workflow
// and the start times out on its side (the Temporal server restarting)
// although Temporal has the workflow. The API deletes the row as
// unstarted and the client's retry starts a new verification for the same
// destination; the first workflow still runs. It must send nothing: its
// code would be a second message to the same destination that no
// send_uncertain counts, whose message could never be registered (the
// chaos run's 9 duplicate sends and 114 receipts of unknown messages).
func TestSendLedgerVerificationGone(t *testing.T) {
	st := storetest.Open(t)
	for _, ad := range adapters {
		t.Run(ad.name, func(t *testing.T) {
			r := newLedgerRig(t, st, ad, "vf_gone_"+ad.name)
			// The row of this rig's verification, deleted as unstarted.
			if err := st.DeleteUnstartedVerification(t.Context(), "acme", r.in.VerificationID); err != nil {
				t.Fatal(err)
			}
			for try := range 3 {
				_, err := r.acts.SendCode(t.Context(), r.in)
				var appErr *temporal.ApplicationError
				if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != contract.ErrTypeDeliveryFailed {
					t.Fatalf("try %d: %v, want a non-retryable delivery failure", try, err)
				}
			}
			if n := r.ep.requests.Load(); n != 0 {
				t.Fatalf("endpoint called %d times for a deleted verification, want 0", n)
			}
			// A verification never stored at all is refused the same way.
			r.in.VerificationID = "vf_never_stored_" + ad.name
			if _, err := r.acts.SendCode(t.Context(), r.in); err == nil || r.ep.requests.Load() != 0 {
				t.Fatalf("never stored: %v, %d requests", err, r.ep.requests.Load())
			}
		})
	}
}

// failingLedger is the real send ledger with faults: its claims or its
// acceptances fail while failClaim / failAccept are set (Postgres
// restarting between two statements of one SendCode).
type failingLedger struct {
	SendLedger
	failClaim, failAccept atomic.Bool
}

var errPostgresDown = errors.New("postgres restarting")

func (l *failingLedger) ClaimSend(ctx context.Context, a store.SendAttempt) (store.SendClaim, error) {
	if l.failClaim.Load() {
		return store.SendClaim{}, errPostgresDown
	}
	return l.SendLedger.ClaimSend(ctx, a)
}

func (l *failingLedger) AcceptSend(ctx context.Context, key, messageID string) (bool, error) {
	if l.failAccept.Load() {
		return false, errPostgresDown
	}
	return l.SendLedger.AcceptSend(ctx, key, messageID)
}

// failingMessages fails RegisterMessage while fail is set.
type failingMessages struct {
	messageStore
	fail atomic.Bool
}

func (m *failingMessages) RegisterMessage(ctx context.Context, msg store.Message) error {
	if m.fail.Load() {
		return errPostgresDown
	}
	return m.messageStore.RegisterMessage(ctx, msg)
}

// TestSendLedgerPostgresRestart: Postgres fails around the provider call.
// A claim that fails sends nothing; an accepted send whose acceptance and
// registration both fail is retried by Temporal, and the retry — which
// cannot know the first call went out — resends and counts it. Either way
// the endpoint's requests stay within one per attempt plus the uncertain
// count.
func TestSendLedgerPostgresRestart(t *testing.T) {
	st := storetest.Open(t)
	for _, ad := range adapters {
		t.Run(ad.name, func(t *testing.T) {
			r := newLedgerRig(t, st, ad, "vf_pgrestart_"+ad.name)
			fl := &failingLedger{SendLedger: st}
			msgs := &failingMessages{}
			r.acts.Ledger, r.acts.Store = fl, msgs

			// The claim fails: no call.
			fl.failClaim.Store(true)
			if _, err := r.acts.SendCode(t.Context(), r.in); err == nil {
				t.Fatal("claim failed: want an error")
			}
			if n := r.ep.requests.Load(); n != 0 {
				t.Fatalf("claim failed: endpoint called %d times, want 0", n)
			}
			fl.failClaim.Store(false)

			// Accepted, but neither the acceptance nor the message is
			// recorded: the attempt fails (retryable).
			fl.failAccept.Store(true)
			msgs.fail.Store(true)
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			_, err := r.acts.SendCode(ctx, r.in)
			cancel()
			var appErr *temporal.ApplicationError
			if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
				t.Fatalf("unrecorded acceptance: %v, want a retryable error", err)
			}
			fl.failAccept.Store(false)
			msgs.fail.Store(false)
			// Temporal's retries: in progress until the first call's lease
			// runs out, then a counted resend.
			deadline := time.Now().Add(10 * time.Second)
			for {
				_, err = r.acts.SendCode(t.Context(), r.in)
				if err == nil || !errors.As(err, &appErr) || appErr.Type() != ErrTypeSendInProgress || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond) // Temporal's retry interval
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, u := r.ep.requests.Load(), r.uncertain(); got != 2 || u != 1 || r.auditUncertain(t) != 1 {
				t.Fatalf("endpoint requests %d, uncertain %v, audit %d: want 2, 1, 1", got, u, r.auditUncertain(t))
			}
		})
	}
}

// TestSendLedgerFailoverCounted: on a "meta,twilio" route, a Meta call
// that fails with a 5xx or hangs past the call timeout may still have
// sent the message; the retry goes to Twilio — a second request for one
// attempt — and is counted as uncertain (metric and audit event).
func TestSendLedgerFailoverCounted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault fault
	}{{"5xx", fault5xx}, {"hang", faultHang}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFailoverRig(t, storetest.Open(t), "meta,twilio", testPolicy, 300*time.Millisecond, nil)
			r.meta.set(tc.fault)
			in := r.input()
			res, _, err := r.sendLikeTemporal(t, in, 10*time.Second)
			if err != nil || res.Provider != "twilio" {
				t.Fatalf("send: %+v %v, want through twilio", res, err)
			}
			reqs := r.meta.requests.Load() + r.twil.requests.Load()
			uncertain := testutil.ToFloat64(metricVec(r.reg, "veriflow_send_uncertain_total", "twilio"))
			evs, err := r.st.Events(t.Context(), in.VerificationID)
			if err != nil {
				t.Fatal(err)
			}
			audit := 0
			for _, e := range evs {
				if e.Type == string(contract.EventSendUncertain) {
					audit++
				}
			}
			if reqs != 2 || uncertain != 1 || audit != 1 {
				t.Fatalf("requests %d (meta %d, twilio %d), uncertain %v, audit %d: want 2 requests, 1 counted",
					reqs, r.meta.requests.Load(), r.twil.requests.Load(), uncertain, audit)
			}
		})
	}
}
