package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AttemptStats are the figures of one channel × country × provider over a
// period, counted per attempt (a verification's sends).
type AttemptStats struct {
	Channel  string
	Country  string // ISO region of the phone at start; "unknown" without one
	Provider string // "unknown" when the attempt names none (never sent)
	// Sent counts attempts handed to the provider (sent_at set); Delivered
	// those delivered or read; Read those read; Failed those failed or
	// undelivered, FailedBy per reason ("unknown" when none was given).
	Sent, Delivered, Read, Failed int
	FailedBy                      map[string]int
	// Approvals counts approved verifications whose code came through this
	// attempt: the latest delivered (or read) attempt, else the latest sent
	// one, else the latest — the rule of the workflow's evidence.
	Approvals int
	// Reached counts verifications with at least one sent attempt here.
	Reached int
	// DeliverP50/P90: delivered_at − sent_at of delivered attempts;
	// ApproveP50/P90: completed_at − the verification's first sent_at, of
	// the attempts approvals are attributed to. Nil without a sample.
	DeliverP50, DeliverP90, ApproveP50, ApproveP90 *time.Duration
}

// attemptAnalyticsSQL reads a tenant's verifications created in [$2, $3),
// of kind $4 ("" for all), expands their attempts once and groups them.
// A row whose attempts are not a JSON array (the JSON null of old rows) or
// an element that is not an object counts as no attempts: no single row
// can make the query fail.
const attemptAnalyticsSQL = `
with v as materialized (
	select id, status, coalesce(country, 'unknown') as country, completed_at,
	       case when jsonb_typeof(attempts) = 'array' then attempts else '[]'::jsonb end as attempts
	from verifications
	where tenant_id = $1 and created_at >= $2 and created_at < $3 and ($4 = '' or kind = $4)
), att as materialized (
	select v.id, v.country,
	       coalesce(nullif(a.e->>'channel', ''), 'unknown') as channel,
	       coalesce(nullif(a.e->>'provider', ''), 'unknown') as provider,
	       a.e->>'status' as status,
	       coalesce(nullif(a.e->>'error', ''), 'unknown') as reason,
	       (a.e->>'sent_at')::timestamptz as sent_at,
	       (a.e->>'delivered_at')::timestamptz as delivered_at,
	       v.status = 'approved' and a.ord = p.pick as approved,
	       case when v.status = 'approved' and a.ord = p.pick then v.completed_at - p.first_sent end as to_approve
	from v
	cross join lateral (
		select coalesce(max(ord) filter (where e->>'status' in ('delivered', 'read')),
		                max(ord) filter (where e->>'sent_at' is not null),
		                max(ord)) as pick,
		       min((e->>'sent_at')::timestamptz) as first_sent
		from jsonb_array_elements(v.attempts) with ordinality x(e, ord)
		where jsonb_typeof(e) = 'object') p
	cross join lateral jsonb_array_elements(v.attempts) with ordinality a(e, ord)
	where jsonb_typeof(a.e) = 'object'
), g as (
	select channel, country, provider,
	       count(*) filter (where sent_at is not null) as sent,
	       count(*) filter (where status in ('delivered', 'read')) as delivered,
	       count(*) filter (where status = 'read') as read,
	       count(*) filter (where status in ('failed', 'undelivered')) as failed,
	       count(*) filter (where approved) as approvals,
	       count(distinct id) filter (where sent_at is not null) as reached,
	       percentile_cont(array[0.5, 0.9]) within group (order by extract(epoch from delivered_at - sent_at))
	           filter (where delivered_at is not null and sent_at is not null and status in ('delivered', 'read')) as deliver_s,
	       percentile_cont(array[0.5, 0.9]) within group (order by extract(epoch from to_approve))
	           filter (where to_approve is not null) as approve_s
	from att group by channel, country, provider
), r as (
	select channel, country, provider, jsonb_object_agg(reason, n) as reasons
	from (select channel, country, provider, reason, count(*) as n from att
	      where status in ('failed', 'undelivered') group by channel, country, provider, reason) x
	group by channel, country, provider
)
select g.channel, g.country, g.provider, g.sent, g.delivered, g.read, g.failed, g.approvals, g.reached,
       g.deliver_s, g.approve_s, coalesce(r.reasons, '{}')
from g left join r using (channel, country, provider)
order by g.channel, g.country, g.provider`

// AttemptAnalytics computes a tenant's attempt figures by channel × country
// × provider, for verifications created in [from, to), optionally of one
// kind, from the read model.
func (s *Store) AttemptAnalytics(ctx context.Context, tenantID string, from, to time.Time, kind string) ([]AttemptStats, error) {
	rows, err := s.pool.Query(ctx, attemptAnalyticsSQL, tenantID, from, to, kind)
	if err != nil {
		return nil, fmt.Errorf("store: attempt analytics: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AttemptStats, error) {
		var a AttemptStats
		var deliver, approve []float64
		err := r.Scan(&a.Channel, &a.Country, &a.Provider, &a.Sent, &a.Delivered, &a.Read, &a.Failed,
			&a.Approvals, &a.Reached, &deliver, &approve, &a.FailedBy)
		a.DeliverP50, a.DeliverP90 = quantiles(deliver)
		a.ApproveP50, a.ApproveP90 = quantiles(approve)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: attempt analytics: %w", err)
	}
	return out, nil
}

// quantiles turns percentile_cont's {p50, p90} seconds into durations.
func quantiles(secs []float64) (p50, p90 *time.Duration) {
	if len(secs) != 2 {
		return nil, nil
	}
	d := func(s float64) *time.Duration {
		v := time.Duration(s * float64(time.Second)).Round(time.Millisecond)
		return &v
	}
	return d(secs[0]), d(secs[1])
}
