// Package store is Veriflow's Postgres access: tenants, API keys, the
// verification read model, idempotency keys, the message map, receipts, the
// audit trail and sandbox messages. Migrations are embedded and applied
// under an advisory lock, so concurrent processes can all call Migrate.
package store

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"

	"github.com/veriflow/veriflow/internal/contract"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned when a row does not exist (or belongs to another tenant).
var ErrNotFound = errors.New("store: not found")

// Store wraps a pgx pool.
type Store struct {
	pool *pgxpool.Pool
}

// DefaultMaxConns is the pool size unless the URL sets pool_max_conns.
const DefaultMaxConns = 16

// Open connects to url and checks the connection. The pool holds up to
// DefaultMaxConns connections unless url sets pool_max_conns.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: parse database url: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgxpool's default (the CPU count, at least 4) queues the API's
		// requests and the worker's projections behind each other under
		// load: with 16, make bench at 32 callers measured the check's
		// median falling from ~870 ms to ~100 ms at the same throughput.
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: ping: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that Postgres answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Migrate applies the embedded migrations under tern's advisory lock.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: acquire: %w", err)
	}
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), "schema_version")
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		return fmt.Errorf("store: migrate: load: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// --- tenants and API keys ---

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
// and hash is left as it is (so a fixed dev key can be created repeatedly).
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) error {
	tag, err := s.pool.Exec(ctx, `
		insert into api_keys (id, tenant_id, mode, secret_hash) values ($1, $2, $3, $4)
		on conflict (id) do update set revoked_at = null
		where api_keys.tenant_id = excluded.tenant_id and api_keys.mode = excluded.mode
		  and api_keys.secret_hash = excluded.secret_hash`,
		k.ID, k.TenantID, string(k.Mode), k.SecretHash)
	if err != nil {
		return fmt.Errorf("store: create api key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: create api key: id %q is taken", k.ID)
	}
	return nil
}

// RevokeAPIKey revokes a key; ErrNotFound if it does not exist.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1`, id)
	if err != nil {
		return fmt.Errorf("store: revoke api key: %w", err)
	}
	if tag.RowsAffected() == 0 {
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
		attempts, err := json.Marshal(v.Attempts)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			insert into verifications (id, tenant_id, mode, kind, status, channel, to_phone, to_email,
			                           checks_left, attempts, metadata, created_at, expires_at, to_phone_hash, to_email_hash)
			values ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), nullif($8, ''), $9, $10, $11, $12, $13, $14, $15)`,
			v.ID, v.TenantID, string(v.Mode), string(v.Kind), string(v.Status), string(v.Channel), v.ToPhone, v.ToEmail,
			v.ChecksLeft, attempts, v.Metadata, v.CreatedAt, v.ExpiresAt, v.ToPhoneHash, v.ToEmailHash)
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
// not be started, with its idempotency key, so a retry starts afresh.
func (s *Store) DeleteUnstartedVerification(ctx context.Context, tenantID, id string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `delete from idempotency_keys where tenant_id = $1 and verification_id = $2`, tenantID, id); err != nil {
			return fmt.Errorf("store: delete idempotency key: %w", err)
		}
		if _, err := tx.Exec(ctx, `delete from verifications where tenant_id = $1 and id = $2 and version = 0`, tenantID, id); err != nil {
			return fmt.Errorf("store: delete verification: %w", err)
		}
		return nil
	})
}

const verificationColumns = `id, tenant_id, mode, kind, status, coalesce(channel, ''), coalesce(to_phone, ''), coalesce(to_email, ''),
	checks_left, attempts, metadata, created_at, expires_at, completed_at, version, to_phone_hash, to_email_hash`

func scanVerification(row pgx.Row) (Verification, error) {
	var v Verification
	var mode, kind, status, channel string
	err := row.Scan(&v.ID, &v.TenantID, &mode, &kind, &status, &channel, &v.ToPhone, &v.ToEmail,
		&v.ChecksLeft, &v.Attempts, &v.Metadata, &v.CreatedAt, &v.ExpiresAt, &v.CompletedAt, &v.Version, &v.ToPhoneHash, &v.ToEmailHash)
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

// PendingSameDestination lists a tenant's other pending verifications of a
// kind to the same phone or email (by keyed hash).
func (s *Store) PendingSameDestination(ctx context.Context, tenantID string, kind contract.Kind, phoneHash, emailHash []byte, except string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `select id from verifications
		where tenant_id = $1 and kind = $2 and status = 'pending' and id <> $5
		  and ((to_phone_hash = $3 and $3::bytea is not null) or (to_email_hash = $4 and $4::bytea is not null))
		order by created_at`, tenantID, string(kind), phoneHash, emailHash, except)
	if err != nil {
		return nil, fmt.Errorf("store: pending same destination: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: pending same destination: %w", err)
	}
	return ids, nil
}

// Evidence is a signed evidence record as stored.
type Evidence struct {
	KeyID    string
	Document []byte // the signed JSON, byte for byte
}

// GetEvidence returns a tenant's evidence of a verification.
func (s *Store) GetEvidence(ctx context.Context, tenantID, verificationID string) (Evidence, error) {
	var e Evidence
	err := s.pool.QueryRow(ctx, `select key_id, document from evidence where tenant_id = $1 and verification_id = $2`,
		tenantID, verificationID).Scan(&e.KeyID, &e.Document)
	if errors.Is(err, pgx.ErrNoRows) {
		return Evidence{}, ErrNotFound
	}
	if err != nil {
		return Evidence{}, fmt.Errorf("store: evidence: %w", err)
	}
	return e, nil
}

// Record projects a workflow state into the read model (only if it is newer
// than what is stored), appends its events, stores ev (when not nil) and
// queues the contract events for the tenant's callback (when it has one),
// in one transaction. It returns the ids of the queued outbound events.
func (s *Store) Record(ctx context.Context, in contract.RecordInput, ev *Evidence) ([]int64, error) {
	attempts, err := json.Marshal(in.State.Attempts)
	if err != nil {
		return nil, fmt.Errorf("store: record: %w", err)
	}
	// One round trip in the common case: the state and its audit events as
	// one pipelined batch, which PostgreSQL runs as one implicit
	// transaction. Evidence and contract events (whose outbound rows need
	// the tenant's callback) take an explicit transaction.
	b := &pgx.Batch{}
	b.Queue(`
		update verifications set status = $3, channel = nullif($4, ''), checks_left = $5, attempts = $6,
		       completed_at = $7, version = $8, updated_at = now()
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
	if ev == nil && !hasOutbound(in.Events) {
		if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
			return nil, fmt.Errorf("store: record: %w", err)
		}
		return nil, nil
	}
	if ev != nil {
		b.Queue(`insert into evidence (verification_id, tenant_id, key_id, document) values ($1, $2, $3, $4)
			on conflict (verification_id) do nothing`, in.VerificationID, in.TenantID, ev.KeyID, ev.Document)
	}
	var hasCallback bool
	b.Queue(`select exists(select 1 from tenant_callbacks where tenant_id = $1)`, in.TenantID).
		QueryRow(func(r pgx.Row) error { return r.Scan(&hasCallback) })
	var queued []int64
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if !hasCallback {
			return nil
		}
		var err error
		queued, err = insertOutbound(ctx, tx, in)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: record: %w", err)
	}
	return queued, nil
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
