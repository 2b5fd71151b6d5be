package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// CircuitState is the state of a provider's circuit breaker.
type CircuitState string

// The states of a circuit (migration 010_provider_circuits.sql).
const (
	// CircuitClosed: sends go to the provider.
	CircuitClosed CircuitState = "closed"
	// CircuitOpen: sends skip the provider until the cool-down ends.
	CircuitOpen CircuitState = "open"
	// CircuitHalfOpen: one probe send is under way.
	CircuitHalfOpen CircuitState = "half_open"
)

// CircuitPolicy is when a circuit opens and for how long.
type CircuitPolicy struct {
	// Failures is how many consecutive transient failures open it.
	Failures int
	// Window: a failure more than Window after the previous one starts
	// the count again.
	Window time.Duration
	// Cooldown is how long it stays open before a probe is let through.
	Cooldown time.Duration
	// Probe bounds the probe send: another probe may go once it ran out.
	Probe time.Duration
}

// CircuitVerdict is what CircuitAllow decided for one send.
type CircuitVerdict struct {
	// Allowed: send through the provider (Probe: as the half-open probe).
	Allowed bool
	Probe   bool
	// State is the circuit's state after the decision.
	State CircuitState
	// Wait is, when not Allowed, how long until a probe may go.
	Wait time.Duration
}

// CircuitAllow decides whether a send may go to provider: yes when its
// circuit is closed; when it is open and its cool-down is over (or a
// half-open probe's time ran out), exactly one caller is let through as
// the probe and the circuit becomes half-open; otherwise no.
func (s *Store) CircuitAllow(ctx context.Context, provider string, p CircuitPolicy) (CircuitVerdict, error) {
	var until time.Time
	var wait float64
	err := s.pool.QueryRow(ctx, `update provider_circuits
		set state = 'half_open', open_until = now() + make_interval(secs => $2), updated_at = now()
		where provider = $1 and state <> 'closed' and open_until <= now()
		returning open_until`, provider, p.Probe.Seconds()).Scan(&until)
	if err == nil {
		return CircuitVerdict{Allowed: true, Probe: true, State: CircuitHalfOpen}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return CircuitVerdict{}, fmt.Errorf("store: circuit probe: %w", err)
	}
	var st CircuitState
	err = s.pool.QueryRow(ctx, `select state, greatest(extract(epoch from coalesce(open_until, now()) - now()), 0)::float8
		from provider_circuits where provider = $1`, provider).Scan(&st, &wait)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && st == CircuitClosed) {
		return CircuitVerdict{Allowed: true, State: CircuitClosed}, nil
	}
	if err != nil {
		return CircuitVerdict{}, fmt.Errorf("store: circuit: %w", err)
	}
	return CircuitVerdict{State: st, Wait: time.Duration(wait * float64(time.Second))}, nil
}

// CircuitSuccess records a send the provider accepted (or refused for a
// reason of the destination): the circuit closes and its count restarts.
// It returns the state after.
func (s *Store) CircuitSuccess(ctx context.Context, provider string) (CircuitState, error) {
	_, err := s.pool.Exec(ctx, `update provider_circuits
		set state = 'closed', failures = 0, open_until = null, updated_at = now()
		where provider = $1 and (state <> 'closed' or failures > 0)`, provider)
	if err != nil {
		return "", fmt.Errorf("store: circuit success: %w", err)
	}
	return CircuitClosed, nil
}

// CircuitFailure records a transient failure of provider (5xx, timeout,
// 429, network) and returns the state after, and whether this failure
// opened the circuit. A closed circuit opens at p.Failures consecutive
// failures (each within p.Window of the previous one); a failed half-open
// probe opens it again; an open circuit stays open (its cool-down is not
// extended by calls that started before it opened).
func (s *Store) CircuitFailure(ctx context.Context, provider string, p CircuitPolicy) (CircuitState, bool, error) {
	var st CircuitState
	var opened bool
	err := s.pool.QueryRow(ctx, `with prev as (
			select state from provider_circuits where provider = $1
		)
		insert into provider_circuits as c (provider, state, failures, last_failure_at, open_until, opened)
		values ($1, case when $2 <= 1 then 'open' else 'closed' end, 1, now(),
			case when $2 <= 1 then now() + make_interval(secs => $4) end, case when $2 <= 1 then 1 else 0 end)
		on conflict (provider) do update set
			failures = case when c.last_failure_at > now() - make_interval(secs => $3) then c.failures + 1 else 1 end,
			last_failure_at = now(),
			state = case
				when c.state = 'half_open' then 'open'
				when c.state = 'open' then 'open'
				when (case when c.last_failure_at > now() - make_interval(secs => $3) then c.failures + 1 else 1 end) >= $2 then 'open'
				else 'closed' end,
			open_until = case
				when c.state = 'open' then c.open_until
				when c.state = 'half_open'
					or (case when c.last_failure_at > now() - make_interval(secs => $3) then c.failures + 1 else 1 end) >= $2
					then now() + make_interval(secs => $4)
				else null end,
			opened = c.opened + case when c.state <> 'open' and (c.state = 'half_open'
					or (case when c.last_failure_at > now() - make_interval(secs => $3) then c.failures + 1 else 1 end) >= $2)
				then 1 else 0 end,
			updated_at = now()
		returning c.state, c.state = 'open' and coalesce((select state from prev), 'closed') <> 'open'`,
		provider, p.Failures, p.Window.Seconds(), p.Cooldown.Seconds()).Scan(&st, &opened)
	if err != nil {
		return "", false, fmt.Errorf("store: circuit failure: %w", err)
	}
	return st, opened, nil
}

// CircuitStates returns every recorded circuit's state by provider (a
// provider without a row is closed).
func (s *Store) CircuitStates(ctx context.Context) (map[string]CircuitState, error) {
	rows, err := s.pool.Query(ctx, `select provider, state from provider_circuits`)
	if err != nil {
		return nil, fmt.Errorf("store: circuits: %w", err)
	}
	out := map[string]CircuitState{}
	for rows.Next() {
		var name string
		var st CircuitState
		if err := rows.Scan(&name, &st); err != nil {
			return nil, fmt.Errorf("store: circuits: %w", err)
		}
		out[name] = st
	}
	return out, rows.Err()
}

// LookupSend returns the ledger's row of the send of key (found false when
// there is none), without claiming it.
func (s *Store) LookupSend(ctx context.Context, key string) (SendClaim, bool, error) {
	var c SendClaim
	var id, reason *string
	err := s.pool.QueryRow(ctx, `select state, provider, provider_message_id, reason, calls
		from send_ledger where idempotency_key = $1`, key).Scan(&c.State, &c.Provider, &id, &reason, &c.Calls)
	if errors.Is(err, pgx.ErrNoRows) {
		return SendClaim{}, false, nil
	}
	if err != nil {
		return SendClaim{}, false, fmt.Errorf("store: lookup send: %w", err)
	}
	if id != nil {
		c.MessageID = *id
	}
	if reason != nil {
		c.Reason = *reason
	}
	return c, true, nil
}

// SendSlot is what ReserveSend gave a send.
type SendSlot struct {
	// Reserved: the send has a slot Delay from now; send then.
	Reserved bool
	Delay    time.Duration
	// RetryAfter is, when not Reserved (the queue is longer than
	// maxQueue), how long until a slot within maxQueue may be free.
	RetryAfter time.Duration
}

// ReserveSend spaces the sends of provider and key (a sender) interval
// apart (GCRA: the row keeps the theoretical arrival time of the next
// send): it reserves the next free slot if it starts within maxQueue, in
// one atomic statement, so replicas share the cap.
func (s *Store) ReserveSend(ctx context.Context, provider, key string, interval, maxQueue time.Duration) (SendSlot, error) {
	var delay float64
	err := s.pool.QueryRow(ctx, `insert into provider_rates as r (provider, key, tat)
		values ($1, $2, now() + make_interval(secs => $3))
		on conflict (provider, key) do update set tat = greatest(r.tat, now()) + make_interval(secs => $3)
			where r.tat - now() <= make_interval(secs => $4)
		returning greatest(extract(epoch from r.tat - now()) - $3, 0)::float8`,
		provider, key, interval.Seconds(), maxQueue.Seconds()).Scan(&delay)
	if err == nil {
		return SendSlot{Reserved: true, Delay: time.Duration(delay * float64(time.Second))}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return SendSlot{}, fmt.Errorf("store: reserve send: %w", err)
	}
	var wait float64
	if err := s.pool.QueryRow(ctx, `select greatest(extract(epoch from tat - now()) - $3, 0)::float8
		from provider_rates where provider = $1 and key = $2`, provider, key, maxQueue.Seconds()).Scan(&wait); err != nil {
		return SendSlot{}, fmt.Errorf("store: reserve send: %w", err)
	}
	return SendSlot{RetryAfter: max(time.Duration(wait*float64(time.Second)), time.Millisecond)}, nil
}
