package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/contract"
)

// StrandedReceipt is a stored receipt whose message is known but which has
// not reached its verification.
type StrandedReceipt struct {
	Receipt        contract.Receipt
	VerificationID string
	TenantID       string
}

// StrandedReceipts returns unapplied receipts of known messages received
// more than olderThan ago, oldest first.
func (s *Store) StrandedReceipts(ctx context.Context, olderThan time.Duration, limit int) ([]StrandedReceipt, error) {
	rows, err := s.pool.Query(ctx, `
		select r.id, r.provider, r.provider_message_id, r.status, coalesce(r.error, ''), r.occurred_at, m.verification_id, v.tenant_id
		from receipts r
		join messages m on m.provider = r.provider and m.provider_message_id = r.provider_message_id
		join verifications v on v.id = m.verification_id
		where r.applied_at is null and r.received_at < now() - $1::interval
		order by r.id limit $2`, olderThan, limit)
	if err != nil {
		return nil, fmt.Errorf("store: stranded receipts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (StrandedReceipt, error) {
		var sr StrandedReceipt
		var status string
		err := row.Scan(&sr.Receipt.ID, &sr.Receipt.Provider, &sr.Receipt.MessageID, &status, &sr.Receipt.Error,
			&sr.Receipt.OccurredAt, &sr.VerificationID, &sr.TenantID)
		sr.Receipt.Status = contract.AttemptStatus(status)
		return sr, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: stranded receipts: %w", err)
	}
	return out, nil
}
