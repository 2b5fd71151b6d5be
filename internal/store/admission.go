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
