package verify

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/fraud"
	"github.com/veriflow/veriflow/internal/store"
)

// noSuchVerification is the NotFound of an unknown verification id.
func noSuchVerification() *Error { return notFound("No such verification.") }

// Get returns a tenant's verification; NotFound for an id that is not
// one, belongs to another tenant or does not exist.
func (s *Service) Get(ctx context.Context, tenantID, id string) (store.Verification, error) {
	if !strings.HasPrefix(id, "vf_") || len(id) > 64 {
		return store.Verification{}, noSuchVerification()
	}
	v, err := s.d.Store.GetVerification(ctx, tenantID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return v, noSuchVerification()
	case err != nil:
		return v, unavailable("load verification", err)
	}
	return v, nil
}

// CheckInput is a validated check of a code.
type CheckInput struct {
	Code string
	// BindingDigest is contract.BindingDigest of the transaction or
	// document the check repeats.
	BindingDigest string
}

// Check checks a code against v (loaded with Get). A finished
// verification is answered as it is. Failed checks are budgeted per
// destination across all of its verifications, so parallel verifications
// do not multiply guesses: a spent budget is RateLimited, and a wrong
// code or binding spends it. A binding mismatch is a BindingMismatch
// error (the check counted); a wrong code is a result with fewer checks
// left.
func (s *Service) Check(ctx context.Context, v store.Verification, in CheckInput) (Result, error) {
	if v.Status.Final() {
		return Result{Verification: v}, nil
	}
	if s.d.Guard != nil {
		ref, err := s.d.Guard.CheckBudget(ctx, v.TenantID, destinationHashes(v))
		if err != nil {
			return Result{}, unavailable("check budget", err)
		}
		if ref != nil {
			return Result{}, RefusalError(ref)
		}
	}
	var res contract.CheckResult
	err := s.update(ctx, v.ID, contract.UpdateCheck,
		contract.CheckInput{CodeHash: s.d.Secrets.Hash(v.ID, in.Code), BindingDigest: in.BindingDigest}, &res)
	if err != nil {
		if o, _ := classify(err); o == updateNotPending {
			return s.reread(ctx, v, err)
		}
		return Result{}, unavailable("check update", err)
	}
	if s.d.Guard != nil && (res.Outcome == contract.CheckWrongCode || res.Outcome == contract.CheckBindingMismatch) {
		if err := s.d.Guard.SpendFailedCheck(ctx, v.TenantID, destinationHashes(v)); err != nil {
			s.d.Log.WarnContext(ctx, "spend failed check", "verification_id", v.ID, "error", err)
		}
	}
	if res.Outcome == contract.CheckApproved {
		s.countApproval(ctx, v)
	}
	if res.Outcome == contract.CheckBindingMismatch {
		left := res.State.ChecksLeft
		return Result{}, &Error{Kind: BindingMismatch, ChecksLeft: &left,
			Detail: "The check does not repeat what the code approves; it counts as a failed check."}
	}
	return Result{Verification: v, Live: &res.State}, nil
}

// reread returns the stored verification after a check raced its end
// (the workflow refused the update as finished, or is gone). Until the
// read model shows that end, the check was not evaluated: it is
// Unavailable (retry), never the stored "pending" — which would read as a
// refused code. A server that lost the update's registry in a restart
// answers "not found" the same way.
func (s *Service) reread(ctx context.Context, v store.Verification, updateErr error) (Result, error) {
	fresh, err := s.d.Store.GetVerification(ctx, v.TenantID, v.ID)
	if err != nil {
		return Result{}, unavailable("reload verification", err)
	}
	if !fresh.Status.Final() {
		return Result{}, unavailable("check update", updateErr)
	}
	return Result{Verification: fresh}, nil
}

// Resend sends a new code of v (loaded with Get) on ch, or on the
// workflow's choice when ch is empty. It is NotPending on a finished
// verification, RateLimited while the send cooldown or the send budget
// forbid it, Invalid when ch has no destination.
func (s *Service) Resend(ctx context.Context, v store.Verification, ch contract.Channel) (Result, error) {
	if v.Status.Final() {
		return Result{}, notPending("The verification is " + string(v.Status) + ".")
	}
	if r := v.Risk; ch != "" && r != nil && r.Mode == fraud.Enforce && r.Decision == fraud.Challenge && !slices.Contains(cheapChannels, ch) {
		return Result{}, &Error{Kind: Blocked, Code: "blocked", Risk: r, Field: "channel",
			Detail: "The fraud engine challenged this verification: it may not be sent by " + string(ch) + "."}
	}
	var st contract.State
	if err := s.update(ctx, v.ID, contract.UpdateResend, contract.ResendInput{Channel: ch}, &st); err != nil {
		return Result{}, updateError("resend", err)
	}
	return Result{Verification: v, Live: &st}, nil
}

// Cancel cancels a tenant's pending verification; a canceled one is
// answered as it is (cancel is idempotent), any other finished one is
// NotPending.
func (s *Service) Cancel(ctx context.Context, tenantID, id string) (Result, error) {
	v, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return Result{}, err
	}
	if v.Status == contract.StatusCanceled {
		return Result{Verification: v}, nil
	}
	if v.Status.Final() {
		return Result{}, notPending("The verification is " + string(v.Status) + ".")
	}
	var st contract.State
	if err := s.update(ctx, v.ID, contract.UpdateCancel, nil, &st); err != nil {
		if o, _ := classify(err); o == updateNotPending {
			fresh, gerr := s.d.Store.GetVerification(ctx, tenantID, v.ID)
			if gerr == nil && fresh.Status == contract.StatusCanceled {
				return Result{Verification: fresh}, nil
			}
		}
		return Result{}, updateError("cancel", err)
	}
	return Result{Verification: v, Live: &st}, nil
}

// Evidence returns the signed evidence of a tenant's approved signature
// verification, byte for byte as it was signed and stored.
func (s *Service) Evidence(ctx context.Context, tenantID, id string) ([]byte, error) {
	v, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	e, err := s.d.Store.GetEvidence(ctx, v.TenantID, v.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFound("No evidence: only an approved signature verification has evidence.")
	case err != nil:
		return nil, unavailable("load evidence", err)
	}
	return e.Document, nil
}
