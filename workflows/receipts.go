package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/veriflow/veriflow/internal/contract"
)

// onReceipt applies one delivery receipt (a signal) to its attempt and
// reports whether anything changed. A receipt whose message id
// is not known yet raced its send: it is kept until the send returns
// (applyEarly).
func (v *verification) onReceipt(ctx workflow.Context, r contract.Receipt) bool {
	if r.ID != 0 {
		if v.seen[r.ID] {
			return false
		}
		v.seen[r.ID] = true
	}
	if !r.Status.Valid() || r.MessageID == "" {
		return false
	}
	for i := range v.state.Attempts {
		if v.state.Attempts[i].MessageID == r.MessageID {
			return v.applyReceipt(ctx, i, r)
		}
	}
	// The send has not returned yet: keep the receipt until it does.
	v.early[r.MessageID] = append(v.early[r.MessageID], r)
	return false
}

// applyEarly applies to attempt i the receipts that arrived before its
// send returned messageID.
func (v *verification) applyEarly(ctx workflow.Context, i int, messageID string) {
	buffered := v.early[messageID]
	delete(v.early, messageID)
	for _, r := range buffered {
		v.applyReceipt(ctx, i, r)
	}
}

// applyReceipt moves attempt i forward; a receipt never moves it backwards,
// so duplicates and out-of-order receipts are harmless. It reports whether
// anything changed.
func (v *verification) applyReceipt(ctx workflow.Context, i int, r contract.Receipt) bool {
	a := &v.state.Attempts[i]
	if r.Status.Rank() <= a.Status.Rank() || (a.Status.Failed() && r.Status.Delivered()) {
		return false
	}
	a.Status = r.Status
	if r.Status.Failed() {
		a.Error = r.Error
		if a.Error == "" {
			a.Error = contract.ReasonOf(r.Status)
		}
	}
	a.UpdatedAt = workflow.Now(ctx)
	if r.Status.Delivered() && a.DeliveredAt == nil {
		at := a.UpdatedAt
		a.DeliveredAt = &at
	}
	if r.Status == contract.AttemptRead && a.ReadAt == nil {
		at := a.UpdatedAt
		a.ReadAt = &at
	}
	v.emit(ctx, contract.AttemptEvent(r.Status), a.Channel, string(r.Error))
	return true
}
