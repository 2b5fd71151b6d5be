package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
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

// channelGroups defines the CTE "cgrouped" over "v": per kind, day and
// channel, the attempts sent, delivered and failed, the verifications
// reached, and the approvals of verifications whose last channel it was
// with their times from start to approval (milliseconds).
const channelGroups = `
catt as (
	select v.id, v.kind, v.day, coalesce(nullif(a->>'channel', ''), 'unknown') as channel, a->>'status' as status,
	       a->>'sent_at' is not null as sent
	from v, jsonb_array_elements(v.attempts) a
	where jsonb_typeof(a) = 'object'
), csends as (
	select kind, day, channel,
	       count(*) filter (where sent) as sent,
	       count(*) filter (where status in ('delivered', 'read')) as delivered,
	       count(*) filter (where status in ('failed', 'undelivered')) as failed,
	       count(distinct id) filter (where sent) as reached
	from catt group by kind, day, channel
), cappr as (
	select kind, day, last_channel as channel, count(*) as approvals,
	       array_agg(round(extract(epoch from completed_at - created_at) * 1000)::int) as approve_ms
	from v where status = 'approved' and last_channel is not null and completed_at is not null
	group by kind, day, last_channel
), cgrouped as (
	select kind, day, channel, coalesce(s.sent, 0) as sent, coalesce(s.delivered, 0) as delivered, coalesce(s.failed, 0) as failed,
	       coalesce(s.reached, 0) as reached, coalesce(a.approvals, 0) as approvals, coalesce(a.approve_ms, '{}') as approve_ms
	from csends s full join cappr a using (kind, day, channel)
)`

const channelColumns = `channel, sent, delivered, failed, reached, approvals, approve_ms`

// channelAnalyticsSQL answers a period [$2, $3) of kind $4 ("" for all):
// the rollup rows of the closed days [$5, $6) and the grouped raw rows of
// the rest, which channelAnalytics adds up.
var channelAnalyticsSQL = `with` + periodRows(`(created_at >= $2 and created_at < $5) or (created_at >= $6 and created_at < $3)`) +
	`,` + channelGroups + `
select ` + channelColumns + ` from cgrouped where $4 = '' or kind = $4
union all
select ` + channelColumns + ` from channel_daily
where tenant_id = $1 and day >= ($5 at time zone 'UTC')::date and day < ($6 at time zone 'UTC')::date and ($4 = '' or kind = $4)`

// ChannelAnalytics computes per-channel figures of a tenant's verifications
// created in [from, to), optionally of one kind, from the read model (and
// the daily rollups of its closed days).
func (s *Store) ChannelAnalytics(ctx context.Context, tenantID string, from, to time.Time, kind string) ([]ChannelStats, error) {
	return s.channelAnalytics(ctx, tenantID, from, to, kind, time.Now())
}

func (s *Store) channelAnalytics(ctx context.Context, tenantID string, from, to time.Time, kind string, now time.Time) ([]ChannelStats, error) {
	cFrom, cTo, err := s.closedDays(ctx, tenantID, from, to, now)
	if err != nil {
		return nil, err
	}
	type part struct {
		ChannelStats
		approve []int32
	}
	parts, err := analyticsQuery(ctx, s, channelAnalyticsSQL, []any{tenantID, from, to, kind, cFrom, cTo}, func(r pgx.CollectableRow) (part, error) {
		var p part
		err := r.Scan(&p.Channel, &p.Sent, &p.Delivered, &p.Failed, &p.Reached, &p.Approvals, &p.approve)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: channel analytics: %w", err)
	}
	sums := map[string]*part{}
	for _, p := range parts {
		c := sums[p.Channel]
		if c == nil {
			c = &part{ChannelStats: ChannelStats{Channel: p.Channel}}
			sums[p.Channel] = c
		}
		c.Sent, c.Delivered, c.Failed = c.Sent+p.Sent, c.Delivered+p.Delivered, c.Failed+p.Failed
		c.Reached, c.Approvals = c.Reached+p.Reached, c.Approvals+p.Approvals
		c.approve = append(c.approve, p.approve...)
	}
	out := make([]ChannelStats, 0, len(sums))
	for _, c := range sums {
		c.MedianApprove, _ = quantiles(c.approve)
		out = append(out, c.ChannelStats)
	}
	slices.SortFunc(out, func(a, b ChannelStats) int { return strings.Compare(a.Channel, b.Channel) })
	return out, nil
}
