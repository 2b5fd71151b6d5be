package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/contract"
)

// Record projects a workflow state into the read model (only if it is newer
// than what is stored), appends its events, stores ev (when not nil) and
// queues the contract events for the tenant's callback (when it has one),
// in one transaction. It returns the ids of the queued outbound events.
func (s *Store) Record(ctx context.Context, in contract.RecordInput, ev *Evidence) ([]int64, error) {
	attempts, err := attemptsJSON(in.State.Attempts)
	if err != nil {
		return nil, fmt.Errorf("store: record: %w", err)
	}
	// The read model's CHECK constraints (migration 006) hold whatever the
	// state says: attempts are an array, checks_left is not negative, and
	// completed_at is set exactly when the status is final (the workflow
	// sets CompletedAt with every final status; a state without it keeps the
	// stored one, or now). An unknown status is refused by the database.
	// One round trip: the state, its audit events, the evidence and the
	// contract events for the tenant's callback go as one pipelined batch,
	// which PostgreSQL runs as one implicit transaction (an error in any
	// statement rolls back all of them).
	b := &pgx.Batch{}
	b.Queue(`
		update verifications set status = $3, channel = nullif($4, ''), checks_left = greatest($5::int, 0), attempts = $6,
		       completed_at = case when $3 = 'pending' then null else coalesce($7::timestamptz, verifications.completed_at, now()) end,
		       version = $8, updated_at = now()
		where tenant_id = $1 and id = $2 and version < $8`,
		in.TenantID, in.VerificationID, string(in.State.Status), string(in.State.Channel), in.State.ChecksLeft,
		attempts, in.State.CompletedAt, in.State.Version)
	if n := len(in.Events); n > 0 {
		types, channels, details, at := make([]string, n), make([]*string, n), make([]*string, n), make([]time.Time, n)
		for i, e := range in.Events {
			types[i], channels[i], details[i], at[i] = string(e.Type), nullable(string(e.Channel)), nullable(e.Detail), e.At
		}
		b.Queue(`
			insert into events (verification_id, tenant_id, type, channel, detail, occurred_at)
			select $1, $2, t, c, d, o from unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[]) with ordinality as u(t, c, d, o, n)
			order by n`, in.VerificationID, in.TenantID, types, channels, details, at)
	}
	if costlySends(in.State) {
		// The fraud engine's country budgets count SMS and voice sends.
		b.Queue(countSendsSQL, in.TenantID, in.VerificationID, attempts)
	}
	if ev != nil {
		b.Queue(`insert into evidence (verification_id, tenant_id, key_id, document) values ($1, $2, $3, $4)
			on conflict (verification_id) do nothing`, in.VerificationID, in.TenantID, ev.KeyID, ev.Document)
	}
	queued, err := queueOutbound(b, in)
	if err != nil {
		return nil, fmt.Errorf("store: record: %w", err)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("store: record: %w", err)
	}
	return *queued, nil
}

// attemptsJSON marshals a verification's attempts for the read model: always
// a JSON array, never the scalar null that a nil slice marshals to (the
// analytics expand it with jsonb_array_elements, and migration 006 makes
// the database refuse anything but an array).
func attemptsJSON(a []contract.Attempt) ([]byte, error) {
	if a == nil {
		a = []contract.Attempt{}
	}
	return json.Marshal(a)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// AuditEvent is a row of the audit trail.
type AuditEvent struct {
	Type       string
	Channel    contract.Channel
	Detail     string
	OccurredAt time.Time
}

// Events returns a verification's audit trail in order.
func (s *Store) Events(ctx context.Context, verificationID string) ([]AuditEvent, error) {
	rows, err := s.pool.Query(ctx, `select type, coalesce(channel, ''), coalesce(detail, ''), occurred_at
		from events where verification_id = $1 order by id`, verificationID)
	if err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEvent, error) {
		var e AuditEvent
		var ch string
		err := r.Scan(&e.Type, &ch, &e.Detail, &e.OccurredAt)
		e.Channel = contract.Channel(ch)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	return out, nil
}

// AppendEvent appends one audit event outside of a projection (for
// example a receipt for a verification that has finished).
func (s *Store) AppendEvent(ctx context.Context, verificationID, tenantID string, e contract.Event) error {
	_, err := s.pool.Exec(ctx, `insert into events (verification_id, tenant_id, type, channel, detail, occurred_at)
		values ($1, $2, $3, $4, $5, $6)`, verificationID, tenantID, e.Type, nullable(string(e.Channel)), nullable(e.Detail), e.At)
	if err != nil {
		return fmt.Errorf("store: append event: %w", err)
	}
	return nil
}

// --- messages and receipts ---
