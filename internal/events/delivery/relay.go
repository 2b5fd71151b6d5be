package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/veriflow/veriflow/internal/store"
)

// Events relay settings: an event still pending after relayAfter may have
// lost its workflow start (Temporal unreachable right after the projection,
// a crash); one pending longer than relayGiveUp is past its workflow's 72 h
// retry window and is marked failed.
const (
	relayAfter  = 30 * time.Second
	relayGiveUp = 73 * time.Hour
	relayBatch  = 200
)

// RelayStore is the part of the store the events relay needs.
type RelayStore interface {
	PendingOutboundEvents(ctx context.Context, olderThan time.Duration, limit int) ([]store.PendingOutbound, error)
	ExpireOutboundEvents(ctx context.Context, maxAge time.Duration) (int64, error)
	StartMarker
}

// RelayPending is one pass of the events relay (not to be confused with
// the receipt relay of package receipts): it gives up the events pending
// past their retry window, then starts the DeliverEvent workflows of the
// events pending for 30 s whose start was never recorded. Starting
// one that exists already is a no-op, so the relay may run in every worker.
// It returns how many it started.
func RelayPending(ctx context.Context, st RelayStore, c client.Client, log *slog.Logger) (int, error) {
	if n, err := st.ExpireOutboundEvents(ctx, relayGiveUp); err != nil {
		return 0, fmt.Errorf("events relay: %w", err)
	} else if n > 0 {
		log.WarnContext(ctx, "outbound events given up after their retry window", "count", n)
	}
	pending, err := st.PendingOutboundEvents(ctx, relayAfter, relayBatch)
	if err != nil {
		return 0, fmt.Errorf("events relay: %w", err)
	}
	for i, p := range pending {
		if err := Start(ctx, c, st, p.ID, p.WorkflowID); err != nil {
			return i, fmt.Errorf("events relay: %w", err)
		}
	}
	return len(pending), nil
}
