package activities

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/veriflow/veriflow/internal/store"
)

// Relay settings: an event still pending after relayAfter may have lost its
// workflow start (Temporal unreachable right after the projection, a
// crash); one pending longer than relayGiveUp is past its workflow's 72 h
// retry window and is marked failed.
const (
	relayAfter  = 30 * time.Second
	relayGiveUp = 73 * time.Hour
	relayBatch  = 200
)

// RelayStore is the part of the store the event relay needs.
type RelayStore interface {
	PendingOutboundEvents(ctx context.Context, olderThan time.Duration, limit int) ([]store.PendingOutbound, error)
	ExpireOutboundEvents(ctx context.Context, maxAge time.Duration) (int64, error)
	StartMarker
}

// RelayPendingEvents is one pass of the event relay: it starts the
// DeliverEvent workflows of outbound events pending for 30 s whose start was
// never recorded. Starting one that exists already is a no-op, so the relay
// may run in every worker.
func RelayPendingEvents(ctx context.Context, st RelayStore, c client.Client, log *slog.Logger) error {
	if n, err := st.ExpireOutboundEvents(ctx, relayGiveUp); err != nil {
		return err
	} else if n > 0 {
		log.WarnContext(ctx, "outbound events given up after their retry window", "count", n)
	}
	pending, err := st.PendingOutboundEvents(ctx, relayAfter, relayBatch)
	if err != nil {
		return err
	}
	for _, p := range pending {
		if err := StartDelivery(ctx, c, st, p.ID, p.WorkflowID); err != nil {
			return err
		}
	}
	return nil
}
