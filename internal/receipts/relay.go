package receipts

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/veriflow/veriflow/internal/store"
)

// Relay settings: a receipt unapplied after relayAfter may have lost its
// signal; one round signals at most relayBatch of them.
const (
	relayAfter = 2 * time.Second
	relayBatch = 500
)

// RelayStore is the part of the store the relay needs.
type RelayStore interface {
	StrandedReceipts(ctx context.Context, olderThan time.Duration, limit int) ([]store.StrandedReceipt, error)
}

// Relay signals again the stored receipts whose message is known but which
// were never applied — Temporal was unreachable, or a process died between
// storing and signalling. The workflow ignores a receipt id it has seen,
// so a receipt signalled twice is applied once.
type Relay struct {
	store RelayStore
	inbox *Service
	log   *slog.Logger
}

// NewRelay returns the relay of inbox's receipts.
func NewRelay(s RelayStore, inbox *Service, log *slog.Logger) *Relay {
	return &Relay{store: s, inbox: inbox, log: log}
}

// Once signals the stranded receipts once. It returns how many it tried.
func (r *Relay) Once(ctx context.Context) (int, error) {
	stranded, err := r.store.StrandedReceipts(ctx, relayAfter, relayBatch)
	if err != nil {
		return 0, fmt.Errorf("receipts: relay: %w", err)
	}
	for _, s := range stranded {
		r.inbox.deliver(ctx, s.VerificationID, s.TenantID, s.Receipt, false)
	}
	return len(stranded), nil
}
