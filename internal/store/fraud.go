package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/fraud"
)

// --- fraud signals (migration 008) ---
//
// The fraud engine's counters are hourly rows per (tenant, signal key),
// bumped with INSERT … ON CONFLICT DO UPDATE in key order (so concurrent
// starts sharing keys lock them in the same order and cannot deadlock).
// Every statement takes the moment it counts at as a parameter: production
// passes now, the simulator its own clock.

// fraudGCOneIn: one ObserveStart in this many also prunes old counters.
const fraudGCOneIn = 512

// epochSQL is the origin of the hour and day buckets.
const epochSQL = `timestamptz '1970-01-01 00:00:00+00'`

// bumpSQL adds $4 to column col of each key of $2 (text[]) in the hour of
// $3 for tenant $1.
func bumpSQL(col string) string {
	return `insert into fraud_counters as f (tenant_id, key, bucket, ` + col + `)
	select $1::text, k, date_bin('1 hour', $3::timestamptz, ` + epochSQL + `), $4::int
	from unnest($2::text[]) as k order by k
	on conflict (tenant_id, key, bucket) do update set ` + col + ` = f.` + col + ` + excluded.` + col
}

// countsSQL reads the counters of keys $2 for tenant $1 at moment $3:
// the sliding hour and day, the 14-day peaks before them and today's sends.
const countsSQL = `
with cur as (
	select date_bin('1 hour', $3::timestamptz, ` + epochSQL + `) as b,
	       extract(epoch from $3::timestamptz - date_bin('1 hour', $3::timestamptz, ` + epochSQL + `)) / 3600 as frac,
	       date_bin('1 day', $3::timestamptz, ` + epochSQL + `) as today
), rows as (
	select f.key, f.bucket, f.starts, f.approvals, f.sends
	from fraud_counters f, cur
	where f.tenant_id = $1 and f.key = any($2::text[]) and f.bucket > cur.b - interval '15 days' and f.bucket <= cur.b
), days as (
	select r.key, date_bin('1 day', r.bucket, ` + epochSQL + `) as d, sum(r.approvals) as a
	from rows r, cur where r.bucket <= cur.b - interval '24 hours'
	group by 1, 2
)
select r.key,
       coalesce(sum(r.starts) filter (where r.bucket = cur.b), 0)
         + coalesce(sum(r.starts) filter (where r.bucket = cur.b - interval '1 hour'), 0) * (1 - cur.frac),
       coalesce(sum(r.approvals) filter (where r.bucket = cur.b), 0)
         + coalesce(sum(r.approvals) filter (where r.bucket = cur.b - interval '1 hour'), 0) * (1 - cur.frac),
       coalesce(sum(r.starts) filter (where r.bucket > cur.b - interval '24 hours'), 0)
         + coalesce(sum(r.starts) filter (where r.bucket = cur.b - interval '24 hours'), 0) * (1 - cur.frac),
       coalesce(sum(r.approvals) filter (where r.bucket > cur.b - interval '24 hours'), 0)
         + coalesce(sum(r.approvals) filter (where r.bucket = cur.b - interval '24 hours'), 0) * (1 - cur.frac),
       coalesce(max(r.approvals) filter (where r.bucket <= cur.b - interval '24 hours'), 0),
       coalesce((select max(d.a) from days d where d.key = r.key), 0),
       coalesce(sum(r.sends) filter (where r.bucket >= cur.today), 0)
from rows r, cur
group by r.key, cur.b, cur.frac, cur.today`

// ipSeenSQL records what IP $2 reached on the day of $3 (country $4,
// destination $5; empty ones skipped).
const ipSeenSQL = `
insert into fraud_ip_seen (tenant_id, ip, day, kind, value)
select $1::text, $2::text, ($3::timestamptz at time zone 'UTC')::date, x.kind, x.value
from (values ('country', $4::text), ('destination', $5::text)) as x(kind, value)
where x.value <> ''
order by x.kind, x.value
on conflict do nothing`

// ipCountSQL counts what IP $2 reached on the day of $3.
const ipCountSQL = `
select count(*) filter (where kind = 'country'), count(*) filter (where kind = 'destination')
from fraud_ip_seen where tenant_id = $1 and ip = $2 and day = ($3::timestamptz at time zone 'UTC')::date`

// ObserveStart counts a start under its keys and returns their counters
// (the start included), in one round trip. It implements fraud.Counter.
func (s *Store) ObserveStart(ctx context.Context, in fraud.Observe) (fraud.Observation, error) {
	o := fraud.Observation{Counts: make(map[string]fraud.Counts, len(in.Keys))}
	b := &pgx.Batch{}
	b.Queue(bumpSQL("starts"), in.Tenant, in.Keys, in.At, 1)
	if in.IP != "" {
		b.Queue(ipSeenSQL, in.Tenant, in.IP, in.At, in.Country, in.DestinationHash)
		b.Queue(ipCountSQL, in.Tenant, in.IP, in.At).QueryRow(func(r pgx.Row) error {
			return r.Scan(&o.IP.Countries, &o.IP.Destinations)
		})
	}
	b.Queue(countsSQL, in.Tenant, in.Keys, in.At).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var key string
			var c fraud.Counts
			if err := rows.Scan(&key, &c.StartsHour, &c.ApprovalsHour, &c.StartsDay, &c.ApprovalsDay,
				&c.PeakApprovalsHour, &c.PeakApprovalsDay, &c.SendsToday); err != nil {
				return err
			}
			o.Counts[key] = c
		}
		return rows.Err()
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fraud.Observation{}, fmt.Errorf("store: observe start: %w", err)
	}
	if rand.IntN(fraudGCOneIn) == 0 {
		// Best effort, like the rate limits' garbage collection.
		_ = s.PruneFraud(ctx, in.At)
	}
	return o, nil
}

// AddFraudCounts adds approvals and sends to keys at moment at, without a
// verification: the simulator's way to count what the workflow and the
// check would.
func (s *Store) AddFraudCounts(ctx context.Context, tenant string, keys []string, approvals, sends int, at time.Time) error {
	b := &pgx.Batch{}
	if approvals > 0 {
		b.Queue(bumpSQL("approvals"), tenant, keys, at, approvals)
	}
	if sends > 0 {
		b.Queue(bumpSQL("sends"), tenant, keys, at, sends)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store: fraud counts: %w", err)
	}
	return nil
}

// CountApproval counts a verification's approval under its signal keys,
// once however often it is called.
func (s *Store) CountApproval(ctx context.Context, tenantID, id string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `
		with v as (
			update verifications set fraud_approved = true
			where tenant_id = $1 and id = $2 and not fraud_approved and fraud_keys is not null
			returning fraud_keys
		)
		insert into fraud_counters as f (tenant_id, key, bucket, approvals)
		select $1::text, k, date_bin('1 hour', $3::timestamptz, `+epochSQL+`), 1
		from v, unnest(v.fraud_keys) as k order by k
		on conflict (tenant_id, key, bucket) do update set approvals = f.approvals + excluded.approvals`,
		tenantID, id, at)
	if err != nil {
		return fmt.Errorf("store: count approval: %w", err)
	}
	return nil
}

// countSendsSQL counts a verification's new SMS and voice sends (attempts
// with a sent_at in $3, the projected attempts) under its country key, once
// each: fraud_sends remembers how many were counted. $1 tenant, $2 id.
const countSendsSQL = `
with old as (
	select fraud_sends, fraud_keys from verifications
	where tenant_id = $1 and id = $2 and fraud_keys is not null for update
), n as (
	select count(*)::int as c from jsonb_array_elements($3::jsonb) a
	where a->>'channel' in ('sms', 'voice') and a ? 'sent_at'
), v as (
	update verifications set fraud_sends = n.c from n, old
	where tenant_id = $1 and id = $2 and n.c > old.fraud_sends
	returning n.c - old.fraud_sends as delta, old.fraud_keys
)
insert into fraud_counters as f (tenant_id, key, bucket, sends)
select $1::text, k, date_bin('1 hour', now(), ` + epochSQL + `), v.delta
from v, unnest(v.fraud_keys) as k where k like 'country:%'
on conflict (tenant_id, key, bucket) do update set sends = f.sends + excluded.sends`

// costlySends reports whether a state has an SMS or voice attempt that was
// sent (the fraud engine's country budgets count those).
func costlySends(st contract.State) bool {
	for _, a := range st.Attempts {
		if (a.Channel == contract.ChannelSMS || a.Channel == contract.ChannelVoice) && a.SentAt != nil {
			return true
		}
	}
	return false
}

// PruneFraud deletes counters older than 15 days and per-IP sets older than
// 2 days, before moment at.
func (s *Store) PruneFraud(ctx context.Context, at time.Time) error {
	b := &pgx.Batch{}
	b.Queue(`delete from fraud_counters where bucket < $1::timestamptz - interval '15 days' - interval '1 hour'`, at)
	b.Queue(`delete from fraud_ip_seen where day < ($1::timestamptz at time zone 'UTC')::date - 2`, at)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store: prune fraud: %w", err)
	}
	return nil
}

// parseRisk decodes a stored risk; a risk that does not decode is reported
// as none rather than failing the read.
func parseRisk(b []byte) *fraud.Risk {
	if len(b) == 0 {
		return nil
	}
	var r fraud.Risk
	if err := json.Unmarshal(b, &r); err != nil {
		return nil
	}
	if r.Reasons == nil {
		r.Reasons = []fraud.Reason{}
	}
	return &r
}

// RiskRow is a verification in the shadow report.
type RiskRow struct {
	ID        string
	Kind      contract.Kind
	Status    contract.Status
	Country   string
	CreatedAt time.Time
	Risk      fraud.Risk
}

// RiskReport lists a tenant's verifications started in [from, to) whose
// decision was not allow (newest first, at most limit), and counts them
// by decision, mode and whether they were approved.
func (s *Store) RiskReport(ctx context.Context, tenantID string, from, to time.Time, limit int) ([]RiskRow, []RiskCount, error) {
	rows, err := s.pool.Query(ctx, `
		select id, kind, status, coalesce(country, ''), created_at, risk from verifications
		where tenant_id = $1 and created_at >= $2 and created_at < $3 and risk->>'decision' <> 'allow'
		order by created_at desc, id desc limit $4`, tenantID, from, to, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("store: risk report: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RiskRow, error) {
		var x RiskRow
		var kind, status string
		var risk []byte
		if err := r.Scan(&x.ID, &kind, &status, &x.Country, &x.CreatedAt, &risk); err != nil {
			return x, err
		}
		x.Kind, x.Status = contract.Kind(kind), contract.Status(status)
		if p := parseRisk(risk); p != nil {
			x.Risk = *p
		}
		return x, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: risk report: %w", err)
	}
	rows, err = s.pool.Query(ctx, `
		select risk->>'decision', risk->>'mode', count(*), count(*) filter (where status = 'approved') from verifications
		where tenant_id = $1 and created_at >= $2 and created_at < $3 and risk->>'decision' <> 'allow'
		group by 1, 2 order by 1, 2`, tenantID, from, to)
	if err != nil {
		return nil, nil, fmt.Errorf("store: risk report counts: %w", err)
	}
	counts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RiskCount, error) {
		var c RiskCount
		var d, m string
		err := r.Scan(&d, &m, &c.Verifications, &c.Approved)
		c.Decision, c.Mode = fraud.Decision(d), fraud.Mode(m)
		return c, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: risk report counts: %w", err)
	}
	return list, counts, nil
}

// RiskCount counts a period's verifications with one decision and mode.
type RiskCount struct {
	Decision      fraud.Decision
	Mode          fraud.Mode
	Verifications int
	// Approved are those whose code was entered: in shadow mode, the
	// decisions that enforcement would have got wrong (or an attack that
	// converts).
	Approved int
}

// FraudCount is one hour's counts of a signal key, for SeedFraudCounters.
type FraudCount struct {
	Key                      string
	Hour                     time.Time
	Starts, Approvals, Sends int
}

// SeedFraudCounters adds counts in bulk (the simulator's history of
// legitimate traffic), one statement per 10 000 rows.
func (s *Store) SeedFraudCounters(ctx context.Context, tenant string, counts []FraudCount) error {
	for len(counts) > 0 {
		n := min(len(counts), 10000)
		keys, hours := make([]string, n), make([]time.Time, n)
		starts, approvals, sends := make([]int32, n), make([]int32, n), make([]int32, n)
		for i, c := range counts[:n] {
			keys[i], hours[i] = c.Key, c.Hour
			starts[i], approvals[i], sends[i] = int32(c.Starts), int32(c.Approvals), int32(c.Sends)
		}
		_, err := s.pool.Exec(ctx, `
			insert into fraud_counters as f (tenant_id, key, bucket, starts, approvals, sends)
			select $1::text, k, date_bin('1 hour', h, `+epochSQL+`), st, ap, se
			from unnest($2::text[], $3::timestamptz[], $4::int[], $5::int[], $6::int[]) as u(k, h, st, ap, se)
			order by k, h
			on conflict (tenant_id, key, bucket) do update set starts = f.starts + excluded.starts,
				approvals = f.approvals + excluded.approvals, sends = f.sends + excluded.sends`,
			tenant, keys, hours, starts, approvals, sends)
		if err != nil {
			return fmt.Errorf("store: seed fraud counters: %w", err)
		}
		counts = counts[n:]
	}
	return nil
}
