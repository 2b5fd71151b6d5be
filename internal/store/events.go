package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/events"
)

// Callback is a tenant's callback URL and its sealed signing secret.
type Callback struct {
	TenantID     string
	URL          string
	SealedSecret []byte
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// SetCallback registers (or replaces) a tenant's callback.
func (s *Store) SetCallback(ctx context.Context, tenantID, url string, sealedSecret []byte) error {
	_, err := s.pool.Exec(ctx, `insert into tenant_callbacks (tenant_id, url, sealed_secret) values ($1, $2, $3)
		on conflict (tenant_id) do update set url = excluded.url, sealed_secret = excluded.sealed_secret, updated_at = now()`,
		tenantID, url, sealedSecret)
	if err != nil {
		return fmt.Errorf("store: set callback: %w", err)
	}
	return nil
}

// GetCallback returns a tenant's callback; ErrNotFound when it has none.
func (s *Store) GetCallback(ctx context.Context, tenantID string) (Callback, error) {
	var c Callback
	err := s.pool.QueryRow(ctx, `select tenant_id, url, sealed_secret, created_at, updated_at from tenant_callbacks where tenant_id = $1`,
		tenantID).Scan(&c.TenantID, &c.URL, &c.SealedSecret, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Callback{}, ErrNotFound
	}
	if err != nil {
		return Callback{}, fmt.Errorf("store: callback: %w", err)
	}
	return c, nil
}

// DeleteCallback removes a tenant's callback (no error when it has none).
func (s *Store) DeleteCallback(ctx context.Context, tenantID string) error {
	if _, err := s.pool.Exec(ctx, `delete from tenant_callbacks where tenant_id = $1`, tenantID); err != nil {
		return fmt.Errorf("store: delete callback: %w", err)
	}
	return nil
}

// Outbound event statuses.
const (
	OutboundPending   = "pending"
	OutboundDelivered = "delivered"
	OutboundFailed    = "failed"
)

// OutboundEvent is a row of outbound_events.
type OutboundEvent struct {
	ID             int64
	TenantID       string
	VerificationID string
	Type           string
	Body           []byte
	CreatedAt      time.Time
	Status         string
	Attempts       int
	LastStatus     *int
	LastError      string
	DeliveredAt    *time.Time
	WorkflowID     string
}

// PendingOutbound is a pending event and the workflow responsible for it.
type PendingOutbound struct {
	ID         int64
	WorkflowID string
}

// outboundSQL queues one contract event for the tenant's callback, if it
// has one, in the projection's batch. The row's id comes from the
// sequence as it is inserted, so the body ($7 and $8 around the event's
// public id) and the DeliverEvent workflow id ($9 before it) are completed
// in SQL. A projection retried after its commit queues nothing again
// (dedupe_key).
const outboundSQL = `
	with cb as (select 1 from tenant_callbacks where tenant_id = $1),
	     n as (select nextval(pg_get_serial_sequence('outbound_events', 'id')) as id from cb)
	insert into outbound_events (id, tenant_id, verification_id, type, version, idx, body, workflow_id, dedupe_key)
	select n.id, $1, $2, $3, $4, $5, $7::bytea || convert_to($6 || n.id, 'UTF8') || $8::bytea, $9 || n.id, $10
	from n
	on conflict (dedupe_key) do nothing
	returning id`

// queueOutbound adds the contract events of a projection to its batch b;
// once b has run, the returned slice holds the ids of the rows inserted
// (none when the tenant has no callback).
func queueOutbound(b *pgx.Batch, in contract.RecordInput) (*[]int64, error) {
	out := new([]int64)
	for i, e := range in.Events {
		if !events.IsOutbound(e) {
			continue
		}
		head, tail, err := events.BodyAround(in.VerificationID, e, in.State)
		if err != nil {
			return nil, fmt.Errorf("outbound body: %w", err)
		}
		key := in.VerificationID + "/" + strconv.FormatInt(in.State.Version, 10) + "/" + strconv.Itoa(i)
		b.Queue(outboundSQL, in.TenantID, in.VerificationID, e.Type, in.State.Version, i, events.EventIDPrefix, head, tail,
			events.WorkflowIDPrefix(in.VerificationID), key).
			Query(func(rows pgx.Rows) error {
				ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
				*out = append(*out, ids...)
				return err
			})
	}
	return out, nil
}

const outboundColumns = `id, tenant_id, verification_id, type, body, created_at, status, attempts, last_status,
	coalesce(last_error, ''), delivered_at, workflow_id`

func scanOutbound(r pgx.Row) (OutboundEvent, error) {
	var e OutboundEvent
	err := r.Scan(&e.ID, &e.TenantID, &e.VerificationID, &e.Type, &e.Body, &e.CreatedAt, &e.Status, &e.Attempts,
		&e.LastStatus, &e.LastError, &e.DeliveredAt, &e.WorkflowID)
	return e, err
}

// GetOutboundEvent returns an outbound event by id (for delivery).
func (s *Store) GetOutboundEvent(ctx context.Context, id int64) (OutboundEvent, error) {
	e, err := scanOutbound(s.pool.QueryRow(ctx, `select `+outboundColumns+` from outbound_events where id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return OutboundEvent{}, ErrNotFound
	}
	if err != nil {
		return OutboundEvent{}, fmt.Errorf("store: outbound event: %w", err)
	}
	return e, nil
}

// OutboundEvents lists a tenant's outbound events of a verification in the
// order the workflow emitted them.
func (s *Store) OutboundEvents(ctx context.Context, tenantID, verificationID string) ([]OutboundEvent, error) {
	rows, err := s.pool.Query(ctx, `select `+outboundColumns+` from outbound_events
		where tenant_id = $1 and verification_id = $2 order by version, idx, id`, tenantID, verificationID)
	if err != nil {
		return nil, fmt.Errorf("store: outbound events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OutboundEvent, error) { return scanOutbound(r) })
	if err != nil {
		return nil, fmt.Errorf("store: outbound events: %w", err)
	}
	return out, nil
}

// MarkOutboundDelivered records a 2xx answer.
func (s *Store) MarkOutboundDelivered(ctx context.Context, id int64, httpStatus int) error {
	_, err := s.pool.Exec(ctx, `update outbound_events set status = 'delivered', attempts = attempts + 1, last_status = $2,
		last_error = null, delivered_at = now() where id = $1`, id, httpStatus)
	if err != nil {
		return fmt.Errorf("store: mark outbound delivered: %w", err)
	}
	return nil
}

// MarkOutboundAttempt records a failed attempt (httpStatus 0: no answer);
// the event stays pending.
func (s *Store) MarkOutboundAttempt(ctx context.Context, id int64, httpStatus int, errText string) error {
	_, err := s.pool.Exec(ctx, `update outbound_events set attempts = attempts + 1, last_status = nullif($2, 0),
		last_error = $3 where id = $1`, id, httpStatus, errText)
	if err != nil {
		return fmt.Errorf("store: mark outbound attempt: %w", err)
	}
	return nil
}

// MarkOutboundFailed gives delivery up (a pending event only).
func (s *Store) MarkOutboundFailed(ctx context.Context, id int64, reason string) error {
	_, err := s.pool.Exec(ctx, `update outbound_events set status = 'failed', last_error = $2 where id = $1 and status = 'pending'`, id, reason)
	if err != nil {
		return fmt.Errorf("store: mark outbound failed: %w", err)
	}
	return nil
}

// ResendOutboundEvent makes a tenant's event of a verification pending
// again under a new delivery workflow; ErrNotFound when no such event.
func (s *Store) ResendOutboundEvent(ctx context.Context, tenantID, verificationID string, id int64, workflowID string) error {
	tag, err := s.pool.Exec(ctx, `update outbound_events set status = 'pending', pending_since = now(), workflow_id = $4,
		started_at = null, delivered_at = null where tenant_id = $1 and verification_id = $2 and id = $3`, tenantID, verificationID, id, workflowID)
	if err != nil {
		return fmt.Errorf("store: resend outbound event: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// PendingOutboundEvents returns events pending for longer than olderThan
// whose workflow was never marked started, oldest first.
func (s *Store) PendingOutboundEvents(ctx context.Context, olderThan time.Duration, limit int) ([]PendingOutbound, error) {
	rows, err := s.pool.Query(ctx, `select id, workflow_id from outbound_events
		where status = 'pending' and started_at is null and pending_since < now() - make_interval(secs => $1) order by pending_since, id limit $2`, olderThan.Seconds(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: pending outbound events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PendingOutbound, error) {
		var p PendingOutbound
		err := r.Scan(&p.ID, &p.WorkflowID)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: pending outbound events: %w", err)
	}
	return out, nil
}

// ExpireOutboundEvents gives up events pending for longer than maxAge
// (their workflow has stopped retrying); it returns how many.
func (s *Store) ExpireOutboundEvents(ctx context.Context, maxAge time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `update outbound_events set status = 'failed', last_error = coalesce(last_error || '; ', '') || 'gave up'
		where status = 'pending' and pending_since < now() - make_interval(secs => $1)`, maxAge.Seconds())
	if err != nil {
		return 0, fmt.Errorf("store: expire outbound events: %w", err)
	}
	return tag.RowsAffected(), nil
}

// MarkOutboundStarted records that the delivery workflow of an event was
// started (only if workflowID is still the one responsible for it).
func (s *Store) MarkOutboundStarted(ctx context.Context, id int64, workflowID string) error {
	_, err := s.pool.Exec(ctx, `update outbound_events set started_at = now() where id = $1 and workflow_id = $2 and started_at is null`,
		id, workflowID)
	if err != nil {
		return fmt.Errorf("store: mark outbound started: %w", err)
	}
	return nil
}
