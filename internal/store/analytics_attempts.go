package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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

// rollupDelay is how long after its end a day is closed: its verifications
// are final (a code lives at most policy.MaxTTL, an hour), so its rollup
// never changes. A projection held up longer than that (a Postgres outage)
// is missed by the day's rollup: delete the day from attempt_daily_days
// (and its rows from attempt_daily and channel_daily) to make it again.
const rollupDelay = 6 * time.Hour

// periodRows defines the CTE "v": a tenant's ($1) verifications selected
// by where, with attempts that are always an array.
func periodRows(where string) string {
	return `
v as materialized (
	select id, kind, (created_at at time zone 'UTC')::date as day, status, coalesce(country, 'unknown') as country,
	       channel as last_channel, created_at, completed_at,
	       case when jsonb_typeof(attempts) = 'array' then attempts else '[]'::jsonb end as attempts
	from verifications where tenant_id = $1 and (` + where + `)
)`
}

// attemptGroups defines the CTE "grouped": the figures of a tenant's ($1)
// verifications selected by where, by kind, UTC day, channel, country and
// provider, with the samples of the percentiles in milliseconds. A row
// whose attempts are not a JSON array (the JSON null of old rows), or an
// element that is not an object, counts as no attempts: no single row can
// make it fail.
func attemptGroups(where string) string {
	return periodRows(where) + `, att as materialized (
	select v.id, v.kind, v.day, v.country,
	       coalesce(nullif(a.e->>'channel', ''), 'unknown') as channel,
	       coalesce(nullif(a.e->>'provider', ''), 'unknown') as provider,
	       a.e->>'status' as status,
	       coalesce(nullif(a.e->>'error', ''), 'unknown') as reason,
	       a.e->>'sent_at' is not null as sent,
	       -- the first sent attempt of its verification on this channel and provider
	       a.e->>'sent_at' is not null and (a.ord = 1 or not exists (
	           select 1 from jsonb_array_elements(v.attempts) with ordinality y(e, ord)
	           where y.ord < a.ord and jsonb_typeof(y.e) = 'object' and y.e->>'sent_at' is not null
	             and coalesce(nullif(y.e->>'channel', ''), 'unknown') = coalesce(nullif(a.e->>'channel', ''), 'unknown')
	             and coalesce(nullif(y.e->>'provider', ''), 'unknown') = coalesce(nullif(a.e->>'provider', ''), 'unknown'))) as reach,
	       case when a.e->>'status' in ('delivered', 'read') then
	           round(extract(epoch from (a.e->>'delivered_at')::timestamptz - (a.e->>'sent_at')::timestamptz) * 1000)::int end as deliver_ms,
	       v.status = 'approved' and a.ord = p.pick as approved,
	       case when v.status = 'approved' and a.ord = p.pick then
	           round(extract(epoch from v.completed_at - p.first_sent) * 1000)::int end as approve_ms
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
	select kind, day, channel, country, provider,
	       count(*) filter (where sent) as sent,
	       count(*) filter (where status in ('delivered', 'read')) as delivered,
	       count(*) filter (where status = 'read') as read,
	       count(*) filter (where status in ('failed', 'undelivered')) as failed,
	       count(*) filter (where approved) as approvals,
	       count(*) filter (where reach) as reached,
	       coalesce(array_agg(deliver_ms) filter (where deliver_ms is not null), '{}') as deliver_ms,
	       coalesce(array_agg(approve_ms) filter (where approve_ms is not null), '{}') as approve_ms
	from att group by kind, day, channel, country, provider
), r as (
	select kind, day, channel, country, provider, jsonb_object_agg(reason, n) as failed_by
	from (select kind, day, channel, country, provider, reason, count(*) as n from att
	      where status in ('failed', 'undelivered') group by kind, day, channel, country, provider, reason) x
	group by kind, day, channel, country, provider
), grouped as (
	select g.*, coalesce(r.failed_by, '{}') as failed_by
	from g left join r using (kind, day, channel, country, provider)
)`
}

const figureColumns = `channel, country, provider, sent, delivered, read, failed, approvals, reached, failed_by, deliver_ms, approve_ms`

// attemptAnalyticsSQL answers a period [$2, $3) of kind $4 ("" for all):
// the rollup rows of the closed days [$5, $6) and the grouped raw rows of
// the rest, which attemptAnalytics adds up (percentiles included: the
// samples travel, a few per row, and Go sorts them faster than a
// contended server).
var attemptAnalyticsSQL = `with` + attemptGroups(`(created_at >= $2 and created_at < $5) or (created_at >= $6 and created_at < $3)`) + `
select ` + figureColumns + ` from grouped where $4 = '' or kind = $4
union all
select ` + figureColumns + ` from attempt_daily
where tenant_id = $1 and day >= ($5 at time zone 'UTC')::date and day < ($6 at time zone 'UTC')::date and ($4 = '' or kind = $4)`

// rollupSQL rolls up a tenant's ($1) days $4 (all within [$2, $3)).
var rollupSQL = `with` + attemptGroups(`created_at >= $2 and created_at < $3 and (created_at at time zone 'UTC')::date = any($4::date[])`) +
	`,` + channelGroups + `,
cins as (
	insert into channel_daily (tenant_id, day, kind, ` + channelColumns + `)
	select $1, day, kind, ` + channelColumns + ` from cgrouped
	on conflict do nothing
), ins as (
	insert into attempt_daily (tenant_id, day, kind, ` + figureColumns + `)
	select $1, day, kind, ` + figureColumns + ` from grouped
	on conflict do nothing
)
insert into attempt_daily_days (tenant_id, day) select $1, d from unnest($4::date[]) d on conflict do nothing`

// AttemptAnalytics computes a tenant's attempt figures by channel × country
// × provider, for verifications created in [from, to), optionally of one
// kind. Closed days are read from daily rollups, made on first demand.
func (s *Store) AttemptAnalytics(ctx context.Context, tenantID string, from, to time.Time, kind string) ([]AttemptStats, error) {
	return s.attemptAnalytics(ctx, tenantID, from, to, kind, time.Now())
}

func (s *Store) attemptAnalytics(ctx context.Context, tenantID string, from, to time.Time, kind string, now time.Time) ([]AttemptStats, error) {
	cFrom, cTo, err := s.closedDays(ctx, tenantID, from, to, now)
	if err != nil {
		return nil, err
	}
	type key struct{ channel, country, provider string }
	type part struct {
		AttemptStats
		deliver, approve []int32
	}
	parts, err := analyticsQuery(ctx, s, attemptAnalyticsSQL, []any{tenantID, from, to, kind, cFrom, cTo}, func(r pgx.CollectableRow) (part, error) {
		var p part
		err := r.Scan(&p.Channel, &p.Country, &p.Provider, &p.Sent, &p.Delivered, &p.Read, &p.Failed,
			&p.Approvals, &p.Reached, &p.FailedBy, &p.deliver, &p.approve)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: attempt analytics: %w", err)
	}
	sums := map[key]*part{}
	for _, p := range parts {
		k := key{p.Channel, p.Country, p.Provider}
		a := sums[k]
		if a == nil {
			a = &part{AttemptStats: AttemptStats{Channel: p.Channel, Country: p.Country, Provider: p.Provider, FailedBy: map[string]int{}}}
			sums[k] = a
		}
		a.Sent, a.Delivered, a.Read, a.Failed = a.Sent+p.Sent, a.Delivered+p.Delivered, a.Read+p.Read, a.Failed+p.Failed
		a.Approvals, a.Reached = a.Approvals+p.Approvals, a.Reached+p.Reached
		for reason, n := range p.FailedBy {
			a.FailedBy[reason] += n
		}
		a.deliver, a.approve = append(a.deliver, p.deliver...), append(a.approve, p.approve...)
	}
	out := make([]AttemptStats, 0, len(sums))
	for _, a := range sums {
		a.DeliverP50, a.DeliverP90 = quantiles(a.deliver)
		a.ApproveP50, a.ApproveP90 = quantiles(a.approve)
		out = append(out, a.AttemptStats)
	}
	slices.SortFunc(out, func(a, b AttemptStats) int {
		return cmp.Or(cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.Country, b.Country), cmp.Compare(a.Provider, b.Provider))
	})
	return out, nil
}

// analyticsQuery runs an analytics query in a read-only transaction
// without JIT (whose compile time, at these plan costs, is most of a
// query's) and with room to sort the percentiles' samples in memory.
func analyticsQuery[T any](ctx context.Context, s *Store, sql string, args []any, scan pgx.RowToFunc[T]) ([]T, error) {
	var out []T
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `set local jit = off; set local work_mem = '64MB'`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scan)
		return err
	})
	return out, err
}

// closedDays returns [cFrom, cTo), the whole UTC days of [from, to) that
// are closed, having made their missing rollups; cFrom = cTo = from when
// there are none.
func (s *Store) closedDays(ctx context.Context, tenantID string, from, to, now time.Time) (cFrom, cTo time.Time, err error) {
	day := 24 * time.Hour
	cFrom = from.UTC().Truncate(day)
	if cFrom.Before(from) {
		cFrom = cFrom.Add(day)
	}
	cTo = to.UTC().Truncate(day)
	if closed := now.UTC().Add(-rollupDelay).Truncate(day); closed.Before(cTo) {
		cTo = closed
	}
	if !cFrom.Before(cTo) {
		return from, from, nil
	}
	return cFrom, cTo, s.rollUp(ctx, tenantID, cFrom, cTo)
}

// rollUp makes the missing rollups of a tenant's closed days in [from, to).
func (s *Store) rollUp(ctx context.Context, tenantID string, from, to time.Time) error {
	rows, err := s.pool.Query(ctx, `select d::date from generate_series($2::timestamp, $3::timestamp - interval '1 day', interval '1 day') d
		where not exists (select 1 from attempt_daily_days where tenant_id = $1 and day = d::date)`,
		tenantID, from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly))
	if err != nil {
		return fmt.Errorf("store: roll up: %w", err)
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return fmt.Errorf("store: roll up: %w", err)
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, rollupSQL, tenantID, from, to, missing); err != nil {
		return fmt.Errorf("store: roll up: %w", err)
	}
	return nil
}

// quantiles returns the 50th and 90th percentiles of samples in
// milliseconds, interpolated like PostgreSQL's percentile_cont; nil without
// samples. It sorts samples.
func quantiles(ms []int32) (p50, p90 *time.Duration) {
	if len(ms) == 0 {
		return nil, nil
	}
	slices.Sort(ms)
	at := func(p float64) *time.Duration {
		pos := p * float64(len(ms)-1)
		lo := int(pos)
		v := float64(ms[lo])
		if lo+1 < len(ms) {
			v += (pos - float64(lo)) * float64(ms[lo+1]-ms[lo])
		}
		d := time.Duration(v * float64(time.Millisecond)).Round(time.Millisecond)
		return &d
	}
	return at(0.5), at(0.9)
}
