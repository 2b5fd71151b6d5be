// Package receipts is the one path every delivery receipt takes, whether it
// comes from a provider webhook or from the sandbox: store it, find its
// verification, signal the workflow. A receipt that races the send (its
// message is not registered yet) stays stored and is signalled when the
// send registers the message; a duplicate is stored once and applied once.
//
// The feature lives in this folder: the inbox (Service: Ingest, then
// signal), the Relay (signal again the receipts that were stored but
// never reached their workflow) and, in package intake, what every
// provider webhook shares on its way in (body limit, answers, handing the
// parsed receipts to the inbox, log).
package receipts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/api/serviceerror"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/store"
)

// Signaler sends a signal to a workflow; the Temporal client implements it.
type Signaler interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// Store is the part of the store the service needs.
type Store interface {
	IngestReceipt(ctx context.Context, r contract.Receipt, dedupeKey string, applyInformational bool) (store.IngestedReceipt, error)
	MessageOwner(ctx context.Context, provider, providerMessageID string) (string, string, error)
	UnappliedReceipts(ctx context.Context, provider, providerMessageID string) ([]contract.Receipt, error)
	MarkReceiptsApplied(ctx context.Context, ids []int64, verificationID string) error
	AppendEvent(ctx context.Context, verificationID, tenantID string, e contract.Event) error
}

// Service is the receipts inbox: it ingests and applies receipts.
type Service struct {
	store    Store
	signaler Signaler
	log      *slog.Logger
	// dropFirst is the chaos test's fault injection: the first signal of
	// each receipt (from Ingest or ApplyPending) is dropped, so only the
	// Relay delivers it.
	dropFirst bool
}

// New returns a Service.
func New(s Store, sig Signaler, log *slog.Logger) *Service {
	return &Service{store: s, signaler: sig, log: log}
}

// DropFirstSignals turns on a fault injection for tests only
// (VERIFLOW_TEST_DROP_FIRST_RECEIPT_SIGNAL): the first signal of every
// stored receipt is dropped as if Temporal had been unreachable, so the
// receipt stays stored and unapplied until the Relay signals it.
func (s *Service) DropFirstSignals() { s.dropFirst = true }

// DedupeKey identifies a receipt: the same status of the same message is
// the same receipt, however many times the provider sends it.
func DedupeKey(r contract.Receipt) string {
	return r.Provider + "|" + r.MessageID + "|" + string(r.Status)
}

// Ingest stores a receipt and, when its message is known, signals it to the
// verification. It returns an error only when the receipt could not be
// stored; once stored it is never lost.
func (s *Service) Ingest(ctx context.Context, r contract.Receipt) error {
	if r.Provider == "" || r.MessageID == "" || !r.Status.Valid() {
		return fmt.Errorf("receipts: incomplete receipt")
	}
	// One statement stores the receipt and finds its owner; an
	// informational receipt of a known message is stored applied, as
	// deliver would mark it (not under the fault injection, which must
	// see every first delivery).
	in, err := s.store.IngestReceipt(ctx, r, DedupeKey(r), !s.dropFirst)
	if err != nil {
		return fmt.Errorf("receipts: store: %w", err)
	}
	if in.Duplicate || in.Applied {
		return nil
	}
	r.ID = in.ID
	vid, tenant := in.VerificationID, in.TenantID
	if vid == "" {
		// The message was not registered when the statement began. Look
		// again now that the receipt is committed: a send that registered
		// it meanwhile may have looked for pending receipts before this one
		// was committed. Stored first, looked up after: either this look
		// sees the message or the send's ApplyPending sees the receipt, so
		// none waits for the relay.
		vid, tenant, err = s.store.MessageOwner(ctx, r.Provider, r.MessageID)
		if errors.Is(err, store.ErrNotFound) {
			// Raced the send: ApplyPending picks it up when the message is
			// registered.
			return nil
		}
		if err != nil {
			s.log.WarnContext(ctx, "receipt stored, owner lookup failed", "receipt_id", in.ID, "error", err)
			return nil
		}
	}
	s.deliver(ctx, vid, tenant, r, true)
	return nil
}

// ApplyPending signals the stored, unapplied receipts of a message that has
// just been registered.
func (s *Service) ApplyPending(ctx context.Context, provider, messageID, verificationID, tenantID string) error {
	pending, err := s.store.UnappliedReceipts(ctx, provider, messageID)
	if err != nil {
		return fmt.Errorf("receipts: pending: %w", err)
	}
	// One statement marks them all applied, after their signals.
	var applied []int64
	for _, r := range pending {
		if s.signal(ctx, verificationID, tenantID, r, true) {
			applied = append(applied, r.ID)
		}
	}
	s.markApplied(ctx, verificationID, applied...)
	return nil
}

// deliver signals one stored receipt and marks it applied.
func (s *Service) deliver(ctx context.Context, verificationID, tenantID string, r contract.Receipt, first bool) {
	if s.signal(ctx, verificationID, tenantID, r, first) {
		s.markApplied(ctx, verificationID, r.ID)
	}
}

// markApplied records that the receipts ids reached their verification.
func (s *Service) markApplied(ctx context.Context, verificationID string, ids ...int64) {
	if len(ids) == 0 {
		return
	}
	if err := s.store.MarkReceiptsApplied(ctx, ids, verificationID); err != nil {
		s.log.WarnContext(ctx, "mark receipts applied", "receipt_ids", ids, "error", err)
	}
}

// signal signals one stored receipt and reports whether it is to be marked
// applied. A finished verification cannot take signals any more; the
// receipt then goes to the audit trail only. first says the signal is the receipt's first try (not
// the Relay's), which the fault injection of DropFirstSignals drops.
//
// Informational receipts (queued, sent) are only marked applied: the
// workflow would ignore them, and a signal costs a history event and a
// workflow task.
func (s *Service) signal(ctx context.Context, verificationID, tenantID string, r contract.Receipt, first bool) bool {
	if first && s.dropFirst {
		s.log.InfoContext(ctx, "test fault: first receipt signal dropped; the relay delivers it", "verification_id", verificationID, "receipt_id", r.ID)
		return false
	}
	var err error
	if !r.Status.Informational() {
		err = s.signaler.SignalWorkflow(ctx, contract.WorkflowID(verificationID), "", contract.SignalReceipt, r)
	}
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		e := contract.Event{Type: contract.EventReceiptAfterCompletion, Detail: string(r.Status), At: r.OccurredAt}
		if err := s.store.AppendEvent(ctx, verificationID, tenantID, e); err != nil {
			s.log.WarnContext(ctx, "audit late receipt", "verification_id", verificationID, "error", err)
			return false
		}
	case err != nil:
		s.log.WarnContext(ctx, "signal receipt; it stays stored", "verification_id", verificationID, "receipt_id", r.ID, "error", err)
		return false
	}
	return true
}
