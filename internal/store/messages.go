package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/contract"
)

// Message maps a provider message to its verification.
type Message struct {
	Provider          string
	ProviderMessageID string
	VerificationID    string
	TenantID          string
	Seq               int
	Channel           contract.Channel
}

// RegisterMessage stores the message map entry (idempotent).
func (s *Store) RegisterMessage(ctx context.Context, m Message) error {
	_, err := s.pool.Exec(ctx, `insert into messages (provider, provider_message_id, verification_id, seq, channel)
		values ($1, $2, $3, $4, $5) on conflict do nothing`,
		m.Provider, m.ProviderMessageID, m.VerificationID, m.Seq, string(m.Channel))
	if err != nil {
		return fmt.Errorf("store: register message: %w", err)
	}
	return nil
}

// MessageOwner returns the verification (and its tenant) of a provider
// message; ErrNotFound when the message is not known (yet).
func (s *Store) MessageOwner(ctx context.Context, provider, providerMessageID string) (verificationID, tenantID string, err error) {
	err = s.pool.QueryRow(ctx, `select m.verification_id, v.tenant_id from messages m join verifications v on v.id = m.verification_id
		where m.provider = $1 and m.provider_message_id = $2`, provider, providerMessageID).Scan(&verificationID, &tenantID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", ErrNotFound
	}
	if err != nil {
		return "", "", fmt.Errorf("store: message owner: %w", err)
	}
	return verificationID, tenantID, nil
}

// MessageIDs returns a verification's provider message ids for one
// provider, in send order.
func (s *Store) MessageIDs(ctx context.Context, verificationID, provider string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `select provider_message_id from messages where verification_id = $1 and provider = $2 order by seq`,
		verificationID, provider)
	if err != nil {
		return nil, fmt.Errorf("store: message ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: message ids: %w", err)
	}
	return ids, nil
}

// InsertReceipt stores a receipt; a duplicate (same dedupe key) returns
// duplicate=true and the first one's id.
func (s *Store) InsertReceipt(ctx context.Context, r contract.Receipt, dedupeKey string) (id int64, duplicate bool, err error) {
	err = s.pool.QueryRow(ctx, `insert into receipts (provider, provider_message_id, status, error, occurred_at, dedupe_key)
		values ($1, $2, $3, $4, $5, $6) on conflict (dedupe_key) do nothing returning id`,
		r.Provider, r.MessageID, string(r.Status), nullable(string(r.Error)), r.OccurredAt, dedupeKey).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		err = s.pool.QueryRow(ctx, `select id from receipts where dedupe_key = $1`, dedupeKey).Scan(&id)
		if err != nil {
			return 0, false, fmt.Errorf("store: insert receipt: %w", err)
		}
		return id, true, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: insert receipt: %w", err)
	}
	return id, false, nil
}

// UnappliedReceipts returns the receipts of a message not yet signalled.
func (s *Store) UnappliedReceipts(ctx context.Context, provider, providerMessageID string) ([]contract.Receipt, error) {
	rows, err := s.pool.Query(ctx, `select id, provider, provider_message_id, status, coalesce(error, ''), occurred_at
		from receipts where provider = $1 and provider_message_id = $2 and applied_at is null order by id`, provider, providerMessageID)
	if err != nil {
		return nil, fmt.Errorf("store: unapplied receipts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (contract.Receipt, error) {
		var rc contract.Receipt
		var status string
		err := r.Scan(&rc.ID, &rc.Provider, &rc.MessageID, &status, &rc.Error, &rc.OccurredAt)
		rc.Status = contract.AttemptStatus(status)
		return rc, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: unapplied receipts: %w", err)
	}
	return out, nil
}

// MarkReceiptApplied records that a receipt reached its verification.
func (s *Store) MarkReceiptApplied(ctx context.Context, id int64, verificationID string) error {
	_, err := s.pool.Exec(ctx, `update receipts set applied_at = now(), verification_id = $2 where id = $1 and applied_at is null`, id, verificationID)
	if err != nil {
		return fmt.Errorf("store: mark receipt applied: %w", err)
	}
	return nil
}

// --- sandbox ---
