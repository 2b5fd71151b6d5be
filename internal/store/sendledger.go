package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SendState is the state of a send in the send ledger.
type SendState string

// The states of a send (migration 009_send_ledger.sql).
const (
	// SendCalling: the provider call is, or was, under way.
	SendCalling SendState = "calling"
	// SendAccepted: the provider accepted the message.
	SendAccepted SendState = "accepted"
	// SendFailed: the provider refused it for good (a permanent failure).
	SendFailed SendState = "failed"
)

// SendAttempt identifies one send attempt in the ledger. It holds no code
// and no destination.
type SendAttempt struct {
	// Key is SendCode's idempotency key, "<verification id>/<seq>".
	Key            string
	VerificationID string
	TenantID       string
	// Provider is the provider about to be called.
	Provider string
	// Lease bounds the provider call: until it runs out, another attempt
	// finding the send "calling" treats it as in progress.
	Lease time.Duration
}

// SendClaim is what ClaimSend found or took.
type SendClaim struct {
	// Claimed: the caller owns the call and must call the provider, then
	// AcceptSend, FailSend or ReleaseSend.
	Claimed bool
	// Uncertain (with Claimed): an earlier call of this attempt may have
	// reached the provider and its answer was lost; Calls counts the calls.
	Uncertain bool
	Calls     int
	// State, with Provider, MessageID and Reason, is the stored outcome
	// when not Claimed: accepted or failed, or calling while another
	// caller's lease runs (InProgress).
	State     SendState
	Provider  string
	MessageID string
	Reason    string
}

// InProgress reports whether another caller holds the send's lease.
func (c SendClaim) InProgress() bool { return !c.Claimed && c.State == SendCalling }

// ErrNoVerification is ClaimSend's answer for a send whose verification
// Postgres does not hold: the API deleted it as unstarted (its workflow
// start timed out, yet the workflow runs) or never stored it. Nothing may
// be sent for it: the client was told the start failed, its retry made
// another verification for the same destination, and the message could
// never be registered.
var ErrNoVerification = errors.New("store: send of a verification that is not stored")

// ClaimSend takes the send of a.Key before its provider call. The first
// caller inserts it as "calling" and gets Claimed — if the verification
// (a.VerificationID of a.TenantID) is stored, else ErrNoVerification. A later caller gets the
// stored outcome (accepted, failed), or InProgress while the holder's
// lease runs; once the lease has run out with the send still "calling",
// the call's answer was lost: the caller takes the send over (Claimed,
// Uncertain) and the row's calls grow by one. Concurrent callers of one
// key: exactly one is Claimed.
func (s *Store) ClaimSend(ctx context.Context, a SendAttempt) (SendClaim, error) {
	lease := a.Lease.Seconds()
	var calls int
	// The first claim requires the verification's row, and holds it (for
	// share) until the claim is in: DeleteUnstartedVerification locks the
	// row for update, then keeps it if a send was claimed. A verification
	// deleted as unstarted keeps no row; one whose workflow projected
	// (version > 0) or claimed a send is never deleted.
	err := s.pool.QueryRow(ctx, `insert into send_ledger
			(idempotency_key, verification_id, tenant_id, provider, state, lease_until)
		select $1, $2, $3, $4, 'calling', now() + make_interval(secs => $5)
		from verifications where id = $2 and tenant_id = $3 for share
		on conflict (idempotency_key) do nothing
		returning calls`, a.Key, a.VerificationID, a.TenantID, a.Provider, lease).Scan(&calls)
	if err == nil {
		return SendClaim{Claimed: true, Calls: calls, State: SendCalling, Provider: a.Provider}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return SendClaim{}, fmt.Errorf("store: claim send: %w", err)
	}
	// Taken before: take it over if its lease ran out while calling. Under
	// read committed, a concurrent taker re-reads the row once the first
	// commits and finds the new lease: one takes it over.
	err = s.pool.QueryRow(ctx, `update send_ledger
		set calls = calls + 1, provider = $2, lease_until = now() + make_interval(secs => $3), updated_at = now()
		where idempotency_key = $1 and state = 'calling' and lease_until <= now()
		returning calls`, a.Key, a.Provider, lease).Scan(&calls)
	if err == nil {
		return SendClaim{Claimed: true, Uncertain: true, Calls: calls, State: SendCalling, Provider: a.Provider}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return SendClaim{}, fmt.Errorf("store: take over send: %w", err)
	}
	var c SendClaim
	var id, reason *string
	err = s.pool.QueryRow(ctx, `select state, provider, provider_message_id, reason, calls
		from send_ledger where idempotency_key = $1`, a.Key).Scan(&c.State, &c.Provider, &id, &reason, &c.Calls)
	if errors.Is(err, pgx.ErrNoRows) {
		// Not inserted, and no earlier claim: the verification is not stored.
		return SendClaim{}, fmt.Errorf("%w: %s", ErrNoVerification, a.VerificationID)
	}
	if err != nil {
		return SendClaim{}, fmt.Errorf("store: read send: %w", err)
	}
	if id != nil {
		c.MessageID = *id
	}
	if reason != nil {
		c.Reason = *reason
	}
	return c, nil
}

// AcceptSend records that the provider accepted the send of key as
// messageID. It reports false when the send was no longer "calling" (a
// caller that took it over recorded its outcome first).
func (s *Store) AcceptSend(ctx context.Context, key, messageID string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `update send_ledger
		set state = 'accepted', provider_message_id = $2, updated_at = now()
		where idempotency_key = $1 and state = 'calling'`, key, messageID)
	if err != nil {
		return false, fmt.Errorf("store: accept send: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// FailSend records a permanent failure of the send of key with its stable
// reason.
func (s *Store) FailSend(ctx context.Context, key, reason string) error {
	_, err := s.pool.Exec(ctx, `update send_ledger
		set state = 'failed', reason = $2, updated_at = now()
		where idempotency_key = $1 and state = 'calling'`, key, reason)
	if err != nil {
		return fmt.Errorf("store: fail send: %w", err)
	}
	return nil
}

// ReleaseSend ends the lease of the send of key after a call whose outcome
// is unknown (a retryable error): the next attempt takes it over at once,
// as uncertain.
func (s *Store) ReleaseSend(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `update send_ledger set lease_until = now(), updated_at = now()
		where idempotency_key = $1 and state = 'calling'`, key)
	if err != nil {
		return fmt.Errorf("store: release send: %w", err)
	}
	return nil
}
