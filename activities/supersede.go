package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/veriflow/veriflow/internal/contract"
)

// SupersedeStore is the part of the store the Supersede activity needs.
type SupersedeStore interface {
	PendingOlderSameDestination(ctx context.Context, tenantID string, kind contract.Kind, phoneHash, emailHash []byte, newID string) ([]string, error)
	AppendEvent(ctx context.Context, verificationID, tenantID string, e contract.Event) error
}

// Supersede cancels the tenant's pending verifications of the same kind
// and destination created before in.VerificationID, so that once it
// returns nil only the new verification's code can be live. Each cancel
// waits for the old workflow's answer; an old verification that is already
// final or gone counts as done. A canceled one gets the audit event
// "superseded" (best effort, as before: a failed audit write is logged).
// Any other failure is returned, and Temporal retries the activity: the
// cancel updates carry a deterministic id, so a retry never applies one
// twice.
func (a *Activities) Supersede(ctx context.Context, in contract.SupersedeInput) error {
	olds, err := a.Store.PendingOlderSameDestination(ctx, in.TenantID, in.Kind,
		a.destHash(in.To.Phone), a.destHash(in.To.Email), in.VerificationID)
	if err != nil {
		return fmt.Errorf("supersede %s: %w", in.VerificationID, err)
	}
	var errs []error
	for _, old := range olds {
		canceled, err := a.cancelSuperseded(ctx, old, in.VerificationID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !canceled {
			continue
		}
		e := contract.Event{Type: contract.EventSuperseded, Detail: in.VerificationID, At: time.Now().UTC()}
		if err := a.Store.AppendEvent(ctx, old, in.TenantID, e); err != nil {
			a.Log.WarnContext(ctx, "audit supersede", "verification_id", old, "error", err)
		}
		a.Log.InfoContext(ctx, "verification superseded", "verification_id", old, "by", in.VerificationID, "tenant_id", in.TenantID)
	}
	return errors.Join(errs...)
}

// cancelSuperseded cancels verification old on behalf of newID and waits
// for its workflow's answer. It reports false, without error, when old is
// no longer pending (final, or its workflow gone).
func (a *Activities) cancelSuperseded(ctx context.Context, old, newID string) (bool, error) {
	h, err := a.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		UpdateID:     "supersede/" + newID,
		WorkflowID:   contract.WorkflowID(old),
		UpdateName:   contract.UpdateCancel,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var st contract.State
		err = h.Get(ctx, &st)
	}
	switch {
	case err == nil:
		return true, nil
	case notPending(err):
		return false, nil
	}
	return false, fmt.Errorf("cancel superseded %s: %w", old, err)
}

// errTypeUpdateOnClosedWorkflow is the type of the failure the Temporal
// server gives an update its workflow accepted but closed (for example
// terminated) before completing it.
const errTypeUpdateOnClosedWorkflow = "AcceptedUpdateCompletedWorkflow"

// notPending reports whether an update failed because its verification is
// no longer pending: refused as not pending, or its workflow closed or not
// found.
func notPending(err error) bool {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && (appErr.Type() == contract.ErrTypeNotPending || appErr.Type() == errTypeUpdateOnClosedWorkflow) {
		return true
	}
	var notFound *serviceerror.NotFound
	return errors.As(err, &notFound)
}

// destHash is the keyed hash of a destination, nil for none.
func (a *Activities) destHash(d string) []byte {
	if d == "" {
		return nil
	}
	return a.Secrets.HashDestination(d)
}

// Commit does nothing. An update handler awaits it so that the workflow
// task that accepted the update is completed, and so persisted, before the
// handler changes the state (workflows, commitFirst): scheduling an
// activity is the cheapest command that ends a task and comes back within
// milliseconds (a timer fires on the server's second boundaries).
func (a *Activities) Commit(context.Context) error { return nil }
