package e2e

import (
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/receipts"
)

// TestStrandedReceiptIsRelayed stores a receipt without signalling it — as
// when Temporal is unreachable while a webhook is answered, or a process
// dies in between — and sees the relay deliver it: the WhatsApp failure
// fails the verification over to SMS.
func TestStrandedReceiptIsRelayed(t *testing.T) {
	s := need(t)
	v := s.start(t, s.acme, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": "+15005550002"},
		"channel_timeout_seconds": 900})
	s.waitFor(t, s.acme, v.ID, 10*time.Second, "whatsapp sent", func(v verification) bool {
		return len(v.Attempts) == 1 && v.Attempts[0].Status == "sent"
	})
	r := contract.Receipt{Provider: "sandbox", MessageID: s.messageIDFor(t, v.ID, "sandbox"), Status: contract.AttemptFailed,
		Error: "not_on_whatsapp", OccurredAt: time.Now().UTC()}
	// The store alone: stored (its owner known), never signalled.
	if in, err := s.app.Store.IngestReceipt(t.Context(), r, receipts.DedupeKey(r), true); err != nil || in.Duplicate || in.Applied {
		t.Fatalf("insert: %+v %v", in, err)
	}
	got := s.waitFor(t, s.acme, v.ID, 20*time.Second, "the relay's failover", func(v verification) bool {
		return len(v.Attempts) == 2 && v.Attempts[0].Error == "not_on_whatsapp"
	})
	if got.Attempts[1].Channel != "sms" {
		t.Fatalf("attempts %+v", got.Attempts)
	}
}
