package verify

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/store"
)

// startWorkflow starts row's workflow. Starting it again is idempotent
// (same workflow id, conflict policy use-existing).
func (s *Service) startWorkflow(ctx context.Context, row store.Verification, in StartInput) error {
	wi := contract.VerificationInput{
		ID: row.ID, TenantID: row.TenantID, Mode: row.Mode, Kind: row.Kind, To: in.To, Locale: in.Locale,
		Plan: in.Policy.Plan, Policy: in.Policy.Code,
		Transaction: in.Transaction, Document: in.Document,
		BindingDigest: contract.BindingDigest(in.Transaction, in.Document),
		CreatedAt:     row.CreatedAt,
		ClientIP:      in.ClientIP,
		// The workflow cancels older pending codes of the destination
		// durably before its first send: the start does not wait on them.
		Supersede: in.Policy.Supersede,
	}
	plan := make([]string, len(wi.Plan.Channels))
	for i, ch := range wi.Plan.Channels {
		plan[i] = string(ch)
	}
	_, err := s.d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       contract.WorkflowID(row.ID),
		TaskQueue:                contract.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            summary(row, in),
		StaticDetails: fmt.Sprintf("kind %s (%s mode); plan: %s, step timeout %s, ttl %s, %d checks, %d sends max%s",
			row.Kind, row.Mode, strings.Join(plan, " → "), wi.Plan.StepTimeout, wi.Policy.TTL, wi.Policy.MaxChecks, wi.Policy.MaxSends,
			riskLine(row)),
		TypedSearchAttributes: temporal.NewSearchAttributes(searchAttributes(row, wi)...),
		// One fairness key per tenant: a server with task-queue fairness
		// (matching.enableFairness) dispatches the tenants' workflow and
		// activity tasks (activities inherit the workflow's priority) in
		// turn instead of in arrival order. Others ignore it.
		Priority: temporal.Priority{FairnessKey: row.TenantID},
		// Where a worker shares this process's client (make dev, the
		// single-binary deployment), the server hands it the first
		// workflow task in the start's answer, skipping matching: with the
		// send as a local activity, the code leaves in that task. Without
		// a local worker with a free slot it is an ordinary start.
		EnableEagerStart: true,
	}, contract.WorkflowVerification, wi)
	if err != nil {
		return fmt.Errorf("start workflow: %w", err)
	}
	return nil
}

// startedAnyway settles a workflow start that failed: a timeout or an
// unavailable server does not say whether Temporal created the workflow.
// It asks Temporal: a workflow that exists was started (true: the start
// succeeded after all); one that does not is cleaned up with its stored row
// and Idempotency-Key, so a retry starts afresh. When Temporal cannot say
// either, the row and its key stay: a retry with the key replays the start
// (idempotent, same workflow id) instead of creating a second verification
// for the same person — the source of the chaos run's uncounted duplicate
// sends.
func (s *Service) startedAnyway(ctx context.Context, t Tenant, row store.Verification, startErr error) bool {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := s.d.Temporal.DescribeWorkflowExecution(dctx, contract.WorkflowID(row.ID), "")
	var nf *serviceerror.NotFound
	switch {
	case err == nil:
		s.d.Log.WarnContext(ctx, "workflow start failed but the workflow exists: started", "verification_id", row.ID, "error", startErr)
		return true
	case errors.As(err, &nf):
		if derr := s.d.Store.DeleteUnstartedVerification(dctx, t.ID, row.ID); derr != nil {
			s.d.Log.ErrorContext(ctx, "clean up unstarted verification", "verification_id", row.ID, "error", derr)
		}
	default:
		s.d.Log.WarnContext(ctx, "workflow start outcome unknown: the verification and its key stay for a retry",
			"verification_id", row.ID, "error", startErr, "describe_error", err)
	}
	return false
}

// summary says, for the Temporal UI, what a verification approves. It
// carries no destination; amounts and titles stay out of search attributes.
func summary(row store.Verification, in StartInput) string {
	switch {
	case in.Transaction != nil:
		tx := in.Transaction
		return fmt.Sprintf("transaction: approve %s %s to %s", tx.Currency, tx.Amount, tx.Payee)
	case in.Document != nil:
		return fmt.Sprintf("signature: sign %q (sha256 %s…)", in.Document.Title, in.Document.SHA256[:min(12, len(in.Document.SHA256))])
	}
	return fmt.Sprintf("%s verification", row.Kind)
}

// searchAttributes are a new verification's: kind, tenant, status pending
// and the channel of its first send (so the workflow need not upsert them
// before that send).
func searchAttributes(row store.Verification, in contract.VerificationInput) []temporal.SearchAttributeUpdate {
	sa := []temporal.SearchAttributeUpdate{
		contract.SAKind.ValueSet(string(row.Kind)),
		contract.SAStatus.ValueSet(string(contract.StatusPending)),
		contract.SATenant.ValueSet(row.TenantID),
	}
	for _, ch := range in.Plan.Channels {
		if ch.Destination(in.To) != "" {
			return append(sa, contract.SAChannel.ValueSet(string(ch)))
		}
	}
	return sa
}

// update runs a workflow update and waits for its result. The update has
// one id for all its tries, so retrying after a transient failure (the
// server aborts updates in flight when a workflow task fails, for example
// when signals race it) can never apply it twice.
func (s *Service) update(ctx context.Context, id, name string, arg, out any) error {
	ctx, cancel := context.WithTimeout(ctx, s.d.UpdateTimeout)
	defer cancel()
	opts := client.UpdateWorkflowOptions{
		UpdateID:   name + "-" + rand.Text(),
		WorkflowID: contract.WorkflowID(id), UpdateName: name, WaitForStage: client.WorkflowUpdateStageCompleted,
	}
	if arg != nil {
		opts.Args = []any{arg}
	}
	backoff := 20 * time.Millisecond
	for {
		err := s.tryUpdate(ctx, opts, out)
		if err == nil {
			return nil
		}
		if o, _ := classify(err); o != updateFailed || ctx.Err() != nil {
			return err
		}
		s.d.Log.DebugContext(ctx, "update retried", "update", name, "verification_id", id, "error", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (s *Service) tryUpdate(ctx context.Context, opts client.UpdateWorkflowOptions, out any) error {
	h, err := s.d.Temporal.UpdateWorkflow(ctx, opts)
	if err != nil {
		return err
	}
	return h.Get(ctx, out)
}

// updateOutcome classifies an update error.
type updateOutcome int

const (
	updateFailed     updateOutcome = iota // dependency trouble: Unavailable
	updateNotPending                      // the verification has finished
	updateRateLimited
	updateInvalid
)

func classify(err error) (updateOutcome, *temporal.ApplicationError) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case contract.ErrTypeNotPending:
			return updateNotPending, appErr
		case contract.ErrTypeRateLimited:
			return updateRateLimited, appErr
		case contract.ErrTypeInvalidArgument:
			return updateInvalid, appErr
		}
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return updateNotPending, nil
	}
	return updateFailed, nil
}

// updateError turns a refused resend or cancel into an *Error.
func updateError(op string, err error) *Error {
	o, appErr := classify(err)
	switch o {
	case updateNotPending:
		return notPending("The verification has finished.")
	case updateRateLimited:
		e := &Error{Kind: RateLimited, Code: guard.CodeRateLimited, Detail: "Too many sends: " + appErr.Message() + ".", Op: op, Err: err}
		var secs int
		if appErr.HasDetails() && appErr.Details(&secs) == nil && secs > 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
		return e
	case updateInvalid:
		return invalid("channel", "has no destination in this verification")
	}
	return unavailable(op+" update", err)
}

// riskLine is the start's risk for the Temporal UI details ("" if none).
func riskLine(row store.Verification) string {
	if row.Risk == nil {
		return ""
	}
	return "; " + row.Risk.Summary()
}
