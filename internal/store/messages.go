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

// IngestedReceipt is what IngestReceipt did with a receipt.
type IngestedReceipt struct {
	// ID is the stored receipt's id (the first one's for a duplicate).
	ID int64
	// Duplicate says the receipt was stored before: nothing was stored.
	Duplicate bool
	// VerificationID and TenantID are the owner of the receipt's message,
	// empty when the message was not registered when the receipt was
	// stored (or for a duplicate).
	VerificationID string
	TenantID       string
	// Applied says the receipt was stored already applied: an
	// informational one of a known message, with applyInformational.
	Applied bool
}

// ingestReceipt stores a receipt and, in the same statement, finds its
// message's owner; a duplicate returns the first receipt's id. Rows of ins
// are invisible to old in the same statement, so old answers only for a
// duplicate stored before this statement began; a duplicate inserted
// concurrently (the insert waited for its commit, then did nothing) yields
// no row at all.
const ingestReceipt = `
	with owner as (
		select m.verification_id, v.tenant_id from messages m join verifications v on v.id = m.verification_id
		where m.provider = $1::text and m.provider_message_id = $2::text
	), ins as (
		insert into receipts (provider, provider_message_id, status, error, occurred_at, dedupe_key, verification_id, applied_at)
		select $1::text, $2::text, $3::text, $4::text, $5::timestamptz, $6::text,
			case when $7::boolean then (select verification_id from owner) end,
			case when $7::boolean and exists (select 1 from owner) then now() end
		on conflict (dedupe_key) do nothing
		returning id, applied_at is not null as applied
	), old as (
		select id from receipts where dedupe_key = $6::text and not exists (select 1 from ins)
	)
	select ins.id, false, ins.applied, coalesce(owner.verification_id, ''), coalesce(owner.tenant_id, '')
		from ins left join owner on true
	union all
	select old.id, true, false, '', '' from old`

// IngestReceipt stores a receipt and returns, from the same statement (one
// round trip), its id and its message's owner when the message is
// registered. A duplicate (same dedupe key) stores nothing and returns the
// first one's id and Duplicate; only a duplicate stored concurrently, whose
// row the statement's snapshot cannot see, costs a second query.
//
// With applyInformational an informational receipt (queued, sent) of a
// known message is stored applied (applied_at and verification_id set), as
// marking it applied would do: such receipts are never signalled.
func (s *Store) IngestReceipt(ctx context.Context, r contract.Receipt, dedupeKey string, applyInformational bool) (IngestedReceipt, error) {
	var out IngestedReceipt
	applyNow := applyInformational && r.Status.Informational()
	err := s.pool.QueryRow(ctx, ingestReceipt, r.Provider, r.MessageID, string(r.Status), nullable(string(r.Error)),
		r.OccurredAt, dedupeKey, applyNow).Scan(&out.ID, &out.Duplicate, &out.Applied, &out.VerificationID, &out.TenantID)
	if errors.Is(err, pgx.ErrNoRows) {
		// Lost a race with the same receipt: the insert waited for the
		// winner's commit, which this statement's snapshot predates.
		err = s.pool.QueryRow(ctx, `select id from receipts where dedupe_key = $1`, dedupeKey).Scan(&out.ID)
		if err != nil {
			return IngestedReceipt{}, fmt.Errorf("store: ingest receipt: concurrent duplicate: %w", err)
		}
		return IngestedReceipt{ID: out.ID, Duplicate: true}, nil
	}
	if err != nil {
		return IngestedReceipt{}, fmt.Errorf("store: ingest receipt: %w", err)
	}
	return out, nil
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

// MarkReceiptsApplied records, in one statement, that receipts reached
// their verification; one already applied keeps its first time.
func (s *Store) MarkReceiptsApplied(ctx context.Context, ids []int64, verificationID string) error {
	_, err := s.pool.Exec(ctx, `update receipts set applied_at = now(), verification_id = $2 where id = any($1) and applied_at is null`, ids, verificationID)
	if err != nil {
		return fmt.Errorf("store: mark receipts applied: %w", err)
	}
	return nil
}

// --- sandbox ---
