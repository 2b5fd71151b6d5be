package store

import (
	"context"
	"fmt"
	"time"
)

// UnsentStarts counts, up to limit, the tenant's verifications created
// after since that are still pending with no attempt recorded: started but
// not sent yet, the tenant's share of the work queued in Temporal. Every
// API replica sees the same count. It walks verifications_tenant_created
// newest first and stops at limit.
func (s *Store) UnsentStarts(ctx context.Context, tenantID string, since time.Time, limit int) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `select count(*) from (
		select 1 from verifications
		where tenant_id = $1 and created_at > $2 and status = 'pending' and attempts = '[]'::jsonb
		order by created_at desc limit $3) unsent`, tenantID, since, limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: unsent starts: %w", err)
	}
	return n, nil
}

// UnsentByTenant counts, per tenant, the verifications created after since
// that are still pending with no attempt recorded (as UnsentStarts does
// for one tenant); tenants with none are absent. It reads the partial
// index verifications_unsent (migration 011), so its cost is the number of
// pending verifications created after since, whatever the table's size.
func (s *Store) UnsentByTenant(ctx context.Context, since time.Time) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `select tenant_id, count(*) from verifications
		where status = 'pending' and created_at > $1 and attempts = '[]'::jsonb
		group by tenant_id`, since)
	if err != nil {
		return nil, fmt.Errorf("store: unsent by tenant: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var tenant string
		var n int
		if err := rows.Scan(&tenant, &n); err != nil {
			return nil, fmt.Errorf("store: unsent by tenant: %w", err)
		}
		out[tenant] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unsent by tenant: %w", err)
	}
	return out, nil
}
