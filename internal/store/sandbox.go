package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/contract"
)

// SandboxMessage is a stored test-mode message; SealedBody holds the text
// and the code, encrypted.
type SandboxMessage struct {
	ID             string
	TenantID       string
	VerificationID string
	IdempotencyKey string
	Channel        contract.Channel
	ToHash         []byte
	ToMasked       string
	SealedBody     []byte
	CreatedAt      time.Time
}

// InsertSandboxMessage stores a sandbox message. If one with the same
// idempotency key exists (a retried send), it returns that one's id.
func (s *Store) InsertSandboxMessage(ctx context.Context, m SandboxMessage) (id string, duplicate bool, err error) {
	err = s.pool.QueryRow(ctx, `insert into sandbox_messages (id, tenant_id, verification_id, idempotency_key, channel, to_hash, to_masked, sealed_body)
		values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (idempotency_key) do nothing returning id`,
		m.ID, m.TenantID, m.VerificationID, m.IdempotencyKey, string(m.Channel), m.ToHash, m.ToMasked, m.SealedBody).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := s.pool.QueryRow(ctx, `select id from sandbox_messages where idempotency_key = $1`, m.IdempotencyKey).Scan(&id); err != nil {
			return "", false, fmt.Errorf("store: sandbox message: %w", err)
		}
		return id, true, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: sandbox message: %w", err)
	}
	return id, false, nil
}

// SandboxMessages lists a tenant's sandbox messages, newest first,
// optionally only those to one destination (by keyed hash).
func (s *Store) SandboxMessages(ctx context.Context, tenantID string, toHash []byte, limit int) ([]SandboxMessage, error) {
	rows, err := s.pool.Query(ctx, `select id, tenant_id, verification_id, idempotency_key, channel, to_hash, to_masked, sealed_body, created_at
		from sandbox_messages where tenant_id = $1 and ($2::bytea is null or to_hash = $2)
		order by created_at desc, id desc limit $3`, tenantID, toHash, limit)
	if err != nil {
		return nil, fmt.Errorf("store: sandbox messages: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SandboxMessage, error) {
		var m SandboxMessage
		var ch string
		err := r.Scan(&m.ID, &m.TenantID, &m.VerificationID, &m.IdempotencyKey, &ch, &m.ToHash, &m.ToMasked, &m.SealedBody, &m.CreatedAt)
		m.Channel = contract.Channel(ch)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: sandbox messages: %w", err)
	}
	return out, nil
}

// SandboxFirstSends returns, for each of a tenant's verifications with a
// sandbox message stored at or after since, when its first message was
// stored (the database's clock): the moment the sandbox "provider" accepted
// it. The fairness run measures start-to-send with it.
func (s *Store) SandboxFirstSends(ctx context.Context, tenantID string, since time.Time) (map[string]time.Time, error) {
	return s.firstSandboxSends(ctx, `tenant_id = $1 and created_at >= $2`, tenantID, since)
}

// SandboxFirstAccepted returns, for each of the verifications ids that has
// a sandbox message, when the sandbox accepted its first one (the row's
// created_at, the database's clock). The benchmark reads it for the time
// from a start request to the provider's accepting the code.
func (s *Store) SandboxFirstAccepted(ctx context.Context, ids []string) (map[string]time.Time, error) {
	return s.firstSandboxSends(ctx, `verification_id = any($1)`, ids)
}

// firstSandboxSends maps each verification with sandbox messages matching
// where to its first message's created_at.
func (s *Store) firstSandboxSends(ctx context.Context, where string, args ...any) (map[string]time.Time, error) {
	rows, err := s.pool.Query(ctx, `select verification_id, min(created_at) from sandbox_messages
		where `+where+` group by verification_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: sandbox first sends: %w", err)
	}
	out := map[string]time.Time{}
	var id string
	var at time.Time
	if _, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error { out[id] = at; return nil }); err != nil {
		return nil, fmt.Errorf("store: sandbox first sends: %w", err)
	}
	return out, nil
}
