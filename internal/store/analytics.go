package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ChannelStats are one channel's figures over a period.
type ChannelStats struct {
	Channel       string
	Sent          int
	Delivered     int
	Failed        int
	Reached       int // verifications with at least one send on the channel
	Approvals     int // approved verifications whose last channel it was
	MedianApprove *time.Duration
}

// ChannelAnalytics computes per-channel figures of a tenant's verifications
// created in [from, to), optionally of one kind, from the read model.
func (s *Store) ChannelAnalytics(ctx context.Context, tenantID string, from, to time.Time, kind string) ([]ChannelStats, error) {
	rows, err := s.pool.Query(ctx, `
		with v as (
			select id, status, channel, attempts, created_at, completed_at from verifications
			where tenant_id = $1 and created_at >= $2 and created_at < $3 and ($4 = '' or kind = $4)
		), att as (
			select v.id, a->>'channel' as channel, a->>'status' as status, a->>'sent_at' is not null as sent
			from v, jsonb_array_elements(case when jsonb_typeof(v.attempts) = 'array' then v.attempts else '[]' end) a
			where jsonb_typeof(a) = 'object'
		), sends as (
			select channel,
			       count(*) filter (where sent) as sent,
			       count(*) filter (where status in ('delivered', 'read')) as delivered,
			       count(*) filter (where status in ('failed', 'undelivered')) as failed,
			       count(distinct id) filter (where sent) as reached
			from att group by channel
		), approvals as (
			select channel, count(*) as approvals,
			       percentile_cont(0.5) within group (order by extract(epoch from completed_at - created_at)) as median_s
			from v where status = 'approved' and channel is not null group by channel
		)
		select coalesce(s.channel, a.channel), coalesce(s.sent, 0), coalesce(s.delivered, 0), coalesce(s.failed, 0),
		       coalesce(s.reached, 0), coalesce(a.approvals, 0), a.median_s
		from sends s full join approvals a on a.channel = s.channel
		order by 1`, tenantID, from, to, kind)
	if err != nil {
		return nil, fmt.Errorf("store: channel analytics: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChannelStats, error) {
		var c ChannelStats
		var median *float64
		err := r.Scan(&c.Channel, &c.Sent, &c.Delivered, &c.Failed, &c.Reached, &c.Approvals, &median)
		if median != nil {
			d := time.Duration(*median * float64(time.Second))
			c.MedianApprove = &d
		}
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: channel analytics: %w", err)
	}
	return out, nil
}
