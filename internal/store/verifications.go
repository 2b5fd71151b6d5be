package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/fraud"
)

// Verification is a row of the read model.
type Verification struct {
	ID       string
	TenantID string
	Mode     contract.Mode
	Kind     contract.Kind
	Status   contract.Status
	Channel  contract.Channel
	ToPhone  string // masked
	ToEmail  string // masked
	// ToPhoneHash and ToEmailHash are keyed hashes of the destinations.
	ToPhoneHash []byte
	ToEmailHash []byte
	// Country is the ISO region of the phone destination ("" without one),
	// stored for analytics only.
	Country string
	// Risk is the fraud engine's decision on the start (nil for rows
	// written before the engine, or one whose stored risk does not parse).
	Risk *fraud.Risk
	// FraudKeys are the signal keys the start was counted under.
	FraudKeys   []string
	ChecksLeft  int
	Attempts    []contract.Attempt
	Metadata    map[string]string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	CompletedAt *time.Time
	Version     int64
}

// StartRequest is what the API stores before it starts a workflow.
type StartRequest struct {
	Verification Verification
	// IdempotencyKey and RequestHash are empty/nil without an Idempotency-Key.
	IdempotencyKey string
	RequestHash    []byte
}

// ErrIdempotencyConflict is returned when an Idempotency-Key was used with
// a different request.
var ErrIdempotencyConflict = errors.New("store: idempotency key reused with a different request")

// InsertVerification stores a new verification (and its idempotency key)
// in one transaction. With an idempotency key already used by the same
// request it stores nothing and returns the existing verification's id and
// replay=true.
func (s *Store) InsertVerification(ctx context.Context, r StartRequest) (id string, replay bool, err error) {
	v := r.Verification
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if r.IdempotencyKey != "" {
			var existing string
			var hash []byte
			err := tx.QueryRow(ctx, `
				with ins as (
					insert into idempotency_keys (tenant_id, key, request_hash, verification_id)
					values ($1, $2, $3, $4)
					on conflict (tenant_id, key) do update
					  set request_hash = excluded.request_hash, verification_id = excluded.verification_id, created_at = now()
					  where idempotency_keys.created_at < now() - interval '24 hours'
					returning verification_id, request_hash)
				select verification_id, request_hash from ins
				union all
				select verification_id, request_hash from idempotency_keys where tenant_id = $1 and key = $2
				limit 1`, v.TenantID, r.IdempotencyKey, r.RequestHash, v.ID).Scan(&existing, &hash)
			if errors.Is(err, pgx.ErrNoRows) {
				// A concurrent start inserted the key after this statement's
				// snapshot was taken: the insert waited for it and skipped, and
				// the fallback select could not see it yet. A new statement
				// (a new snapshot under read committed) does.
				err = tx.QueryRow(ctx, `select verification_id, request_hash from idempotency_keys
					where tenant_id = $1 and key = $2`, v.TenantID, r.IdempotencyKey).Scan(&existing, &hash)
			}
			if err != nil {
				return fmt.Errorf("idempotency key: %w", err)
			}
			if existing != v.ID {
				if string(hash) != string(r.RequestHash) {
					return ErrIdempotencyConflict
				}
				id, replay = existing, true
				return nil
			}
		}
		attempts, err := attemptsJSON(v.Attempts)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			insert into verifications (id, tenant_id, mode, kind, status, channel, to_phone, to_email,
			                           checks_left, attempts, metadata, created_at, expires_at, to_phone_hash, to_email_hash, completed_at, country,
			                           risk, fraud_keys)
			values ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), nullif($8, ''), $9, $10, $11, $12, $13, $14, $15, $16, nullif($17, ''),
			        $18, $19)`,
			v.ID, v.TenantID, string(v.Mode), string(v.Kind), string(v.Status), string(v.Channel), v.ToPhone, v.ToEmail,
			v.ChecksLeft, attempts, v.Metadata, v.CreatedAt, v.ExpiresAt, v.ToPhoneHash, v.ToEmailHash, v.CompletedAt, v.Country,
			v.Risk, v.FraudKeys)
		if err != nil {
			return fmt.Errorf("insert verification: %w", err)
		}
		id = v.ID
		return nil
	})
	if errors.Is(err, ErrIdempotencyConflict) {
		return "", false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("store: %w", err)
	}
	return id, replay, nil
}

// IdempotencyKey returns the verification that a tenant's Idempotency-Key
// started in the last 24 hours and the hash of the request that used it;
// ErrNotFound when the key is unused (or older, and so free again).
func (s *Store) IdempotencyKey(ctx context.Context, tenantID, key string) (verificationID string, requestHash []byte, err error) {
	err = s.pool.QueryRow(ctx, `select verification_id, request_hash from idempotency_keys
		where tenant_id = $1 and key = $2 and created_at > now() - interval '24 hours'`, tenantID, key).Scan(&verificationID, &requestHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, ErrNotFound
	}
	if err != nil {
		return "", nil, fmt.Errorf("store: idempotency key: %w", err)
	}
	return verificationID, requestHash, nil
}

// DeleteUnstartedVerification removes a verification whose workflow could
// not be started, with its idempotency key, so a retry starts afresh. A
// start that failed on the caller's side may still have started the
// workflow (a timeout whose request reached Temporal): once that workflow
// has projected (version > 0) the row is kept, and so is its key — the
// retry then answers this verification instead of starting a second one
// for the same destination. The row is locked first, so a projection
// running at the same time either lands before (the row stays) or finds
// the row gone.
func (s *Store) DeleteUnstartedVerification(ctx context.Context, tenantID, id string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `select 1 from verifications where tenant_id = $1 and id = $2 and version = 0 for update`,
			tenantID, id).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // started after all (or already gone): keep the key
		}
		if err != nil {
			return fmt.Errorf("store: lock unstarted verification: %w", err)
		}
		// A send claimed already (ClaimSend holds the row while it claims;
		// this statement's snapshot sees its commit): the workflow runs and
		// sends, keep it. Every send's first attempt is "<id>/1".
		var sent bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from send_ledger where idempotency_key = $1 || '/1')`, id).Scan(&sent); err != nil {
			return fmt.Errorf("store: look up sends of unstarted verification: %w", err)
		}
		if sent {
			return nil
		}
		if _, err := tx.Exec(ctx, `delete from idempotency_keys where tenant_id = $1 and verification_id = $2`, tenantID, id); err != nil {
			return fmt.Errorf("store: delete idempotency key: %w", err)
		}
		if _, err := tx.Exec(ctx, `delete from verifications where tenant_id = $1 and id = $2`, tenantID, id); err != nil {
			return fmt.Errorf("store: delete verification: %w", err)
		}
		return nil
	})
}

const verificationColumns = `id, tenant_id, mode, kind, status, coalesce(channel, ''), coalesce(to_phone, ''), coalesce(to_email, ''),
	checks_left, attempts, metadata, created_at, expires_at, completed_at, version, to_phone_hash, to_email_hash, risk`

func scanVerification(row pgx.Row) (Verification, error) {
	var v Verification
	var mode, kind, status, channel string
	var risk []byte
	err := row.Scan(&v.ID, &v.TenantID, &mode, &kind, &status, &channel, &v.ToPhone, &v.ToEmail,
		&v.ChecksLeft, &v.Attempts, &v.Metadata, &v.CreatedAt, &v.ExpiresAt, &v.CompletedAt, &v.Version, &v.ToPhoneHash, &v.ToEmailHash, &risk)
	if errors.Is(err, pgx.ErrNoRows) {
		return Verification{}, ErrNotFound
	}
	if err != nil {
		return Verification{}, fmt.Errorf("store: verification: %w", err)
	}
	v.Mode, v.Kind, v.Status, v.Channel = contract.Mode(mode), contract.Kind(kind), contract.Status(status), contract.Channel(channel)
	if v.Attempts == nil {
		v.Attempts = []contract.Attempt{}
	}
	v.Risk = parseRisk(risk)
	return v, nil
}

// GetVerification returns a tenant's verification; ErrNotFound when it does
// not exist or belongs to another tenant.
func (s *Store) GetVerification(ctx context.Context, tenantID, id string) (Verification, error) {
	return scanVerification(s.pool.QueryRow(ctx,
		`select `+verificationColumns+` from verifications where tenant_id = $1 and id = $2`, tenantID, id))
}

// CountVerifications counts a tenant's verifications.
func (s *Store) CountVerifications(ctx context.Context, tenantID string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `select count(*) from verifications where tenant_id = $1`, tenantID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count verifications: %w", err)
	}
	return n, nil
}
