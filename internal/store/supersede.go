package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/contract"
)

// PendingOlderSameDestination lists a tenant's pending verifications of a
// kind that share a destination (phone or email hash) with verification
// newID and were created before it (ties broken by id), oldest first. It is
// what verification newID supersedes: a newer one is never listed, so two
// starts racing for the same destination cannot cancel each other.
func (s *Store) PendingOlderSameDestination(ctx context.Context, tenantID string, kind contract.Kind, phoneHash, emailHash []byte, newID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `select v.id from verifications v
		join verifications n on n.tenant_id = $1 and n.id = $5
		where v.tenant_id = $1 and v.kind = $2 and v.status = 'pending' and v.id <> $5
		  and (v.created_at, v.id) < (n.created_at, n.id)
		  and ((v.to_phone_hash = $3 and $3::bytea is not null) or (v.to_email_hash = $4 and $4::bytea is not null))
		order by v.created_at, v.id`, tenantID, string(kind), phoneHash, emailHash, newID)
	if err != nil {
		return nil, fmt.Errorf("store: pending older same destination: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: pending older same destination: %w", err)
	}
	return ids, nil
}
