package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/internal/contract"
)

// changeSupersedeBeforeFirstSend: a verification started with
// VerificationInput.Supersede cancels the tenant's older pending
// verifications of the same kind and destination (ActivitySupersede)
// before its first send. Before it the API did so synchronously; histories
// without the flag never reach the GetVersion call.
const changeSupersedeBeforeFirstSend = "supersede-before-first-send"

// Bounds of the Supersede activity: retried with backoff from 200 ms up to
// 5 s between attempts, for at most a minute (or the code's TTL if shorter).
const (
	supersedeWindow          = time.Minute
	supersedeAttemptTimeout  = 15 * time.Second
	supersedeInitialInterval = 200 * time.Millisecond
	supersedeMaxInterval     = 5 * time.Second
)

// supersede runs the Supersede activity when the verification asks for it,
// before the first send: once it returns, every older pending code of the
// same destination and kind is dead, so only the code about to be sent is
// live. The first send is queued meanwhile, so a resend is refused and a
// check waits for the first code, as during any first send.
//
// If the activity still fails after its retries (Temporal or Postgres out
// for a minute), the workflow logs a warning and sends anyway: keeping the
// person from their code is worse than an older code staying valid until
// it expires, is checked, or is canceled.
func (v *verification) supersede(ctx workflow.Context) {
	if !v.in.Supersede || v.state.Status.Final() {
		return
	}
	if !v.changed(ctx, changeSupersedeBeforeFirstSend) {
		return
	}
	window := min(supersedeWindow, v.in.Policy.TTL)
	retry := &temporal.RetryPolicy{
		InitialInterval:    supersedeInitialInterval,
		BackoffCoefficient: 2,
		MaximumInterval:    supersedeMaxInterval,
	}
	in := contract.SupersedeInput{VerificationID: v.in.ID, TenantID: v.in.TenantID, Kind: v.in.Kind, To: v.in.To}
	// With local sends, in the workflow task before the send: no round trip
	// through the task queue. It is idempotent, so a rerun after a lost
	// task is harmless.
	err := v.execute(ctx, contract.ActivitySupersede, window, min(window, supersedeAttemptTimeout), retry, in).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("supersede failed; sending the code anyway", "verification_id", v.in.ID, "error", err)
	}
}
