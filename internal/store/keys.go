package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/contract"
)

// APIKey is a stored API key (the secret only as a hash).
type APIKey struct {
	ID         string
	TenantID   string
	Mode       contract.Mode
	SecretHash []byte
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// EnsureTenant creates the tenant if it does not exist.
func (s *Store) EnsureTenant(ctx context.Context, id, name string) error {
	_, err := s.pool.Exec(ctx, `insert into tenants (id, name) values ($1, $2) on conflict (id) do nothing`, id, name)
	if err != nil {
		return fmt.Errorf("store: ensure tenant: %w", err)
	}
	return nil
}

// CreateAPIKey stores a new key; an existing id with the same tenant, mode
// and hash is left as it is (so a fixed dev key can be created repeatedly),
// and un-revoked. Like every write of a key's tenant, mode, hash or
// revocation, it notifies APIKeysChannel with the key's id in the same
// statement (delivered when it commits), so the API replicas' key caches
// drop their copy (internal/keycache).
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) error {
	var n int
	err := s.pool.QueryRow(ctx, `
		with w as (
			insert into api_keys (id, tenant_id, mode, secret_hash) values ($1, $2, $3, $4)
			on conflict (id) do update set revoked_at = null
			where api_keys.tenant_id = excluded.tenant_id and api_keys.mode = excluded.mode
			  and api_keys.secret_hash = excluded.secret_hash
			returning id)
		select count(pg_notify($5, id)) from w`,
		k.ID, k.TenantID, string(k.Mode), k.SecretHash, APIKeysChannel).Scan(&n)
	if err != nil {
		return fmt.Errorf("store: create api key: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("store: create api key: id %q is taken", k.ID)
	}
	return nil
}

// RevokeAPIKey revokes a key; ErrNotFound if it does not exist. It
// notifies APIKeysChannel with the key's id in the same statement: every
// API replica's key cache drops the key when the revocation commits.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	var n int
	err := s.pool.QueryRow(ctx, `
		with w as (update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 returning id)
		select count(pg_notify($2, id)) from w`, id, APIKeysChannel).Scan(&n)
	if err != nil {
		return fmt.Errorf("store: revoke api key: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// APIKeyByID looks a key up by its public id.
func (s *Store) APIKeyByID(ctx context.Context, id string) (APIKey, error) {
	var k APIKey
	var mode string
	err := s.pool.QueryRow(ctx, `select id, tenant_id, mode, secret_hash, revoked_at, last_used_at from api_keys where id = $1`, id).
		Scan(&k.ID, &k.TenantID, &mode, &k.SecretHash, &k.RevokedAt, &k.LastUsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return APIKey{}, ErrNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("store: api key: %w", err)
	}
	k.Mode = contract.Mode(mode)
	return k, nil
}

// TouchAPIKey records that a key was used, at most once a minute.
func (s *Store) TouchAPIKey(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `update api_keys set last_used_at = now()
		where id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')`, id)
	if err != nil {
		return fmt.Errorf("store: touch api key: %w", err)
	}
	return nil
}

// --- verifications ---
