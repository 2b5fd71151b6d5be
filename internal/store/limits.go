package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// --- rate limits ---
//
// Each limit is a sliding-window counter (the approximation Cloudflare and
// others use): hits are counted in fixed windows aligned to the Unix epoch
// (date_bin), one row per (scope, key, window length, window start), and a
// limit's usage at a moment t inside the current window is
//
//	used(t) = prev × (1 − elapsed/window) + cur
//
// where prev and cur are the hits of the previous and the current window.
// So a burst at the end of one window still counts, decreasingly, during the
// next one, instead of doubling the allowance at the boundary as a plain
// fixed window would.
//
// Atomicity: every hit is one INSERT … ON CONFLICT DO UPDATE … WHERE
// statement that inserts the current window's row or adds to it only if
// used + cost ≤ max. Postgres takes the row lock before it evaluates the
// WHERE of DO UPDATE (and re-reads the latest committed row version under
// that lock), so concurrent hits on one counter serialize and none can read
// a stale count. A Hit call with several hits runs them in one transaction
// (pipelined, one round trip) and rolls it back if any of them was refused,
// so a refused call spends nothing; hits are executed in (scope, key,
// window) order so two calls that share counters always lock them in the
// same order and cannot deadlock. A single hit needs no transaction: its
// one statement is atomic, and a refused one changes nothing.
//
// The previous window's row is read without a lock: it only still changes
// for a transaction that began just before the boundary, which at worst lets
// a hit or two more through at that instant.

// LimitHit is one limit to check and spend.
type LimitHit struct {
	// Scope names the limit (for example "start.phone.10m:acme"); it is
	// returned in LimitResult when this limit is exceeded.
	Scope string
	// Key is what is counted within the scope: an opaque string, a keyed
	// hash for destinations, never a raw destination.
	Key string
	// Window is the window length, at least a millisecond (whole
	// milliseconds are used).
	Window time.Duration
	// Max is how many units the window allows; 0 refuses everything.
	Max int
	// Cost is how many units this hit spends; 0 means 1.
	Cost int
}

// LimitResult is the outcome of Hit.
type LimitResult struct {
	// Allowed is true when every limit had room and all were spent.
	Allowed bool
	// Scope is the first exceeded limit, in the order of the hits passed.
	Scope string
	// Exceeded lists every exceeded limit's scope, in the order of the hits
	// passed (Scope is its first element).
	Exceeded []string
	// RetryAfter is, when refused, how long until every exceeded limit has
	// room again if nothing else spends it: the longest of their waits.
	RetryAfter time.Duration
}

const (
	// limitsGCOneIn: one Hit in this many also deletes a batch of expired
	// counters (best effort, outside the hit's transaction).
	limitsGCOneIn = 64
	// limitsGCBatch is how many expired counters one pass deletes.
	limitsGCBatch = 1000
	// pruneBatch is how many counters PruneLimits deletes per statement.
	pruneBatch = 10000
)

// errLimitRefused rolls back a Hit transaction in which a limit was exceeded.
var errLimitRefused = errors.New("store: limit exceeded")

// windowSQL is the start of the current window of length $3 (ms).
const windowSQL = `date_bin($3::bigint * interval '1 millisecond', now(), timestamptz '1970-01-01 00:00:00+00')`

// hitSQL checks and spends one hit. $1 scope, $2 key, $3 window in ms,
// $4 max, $5 cost. It returns a row if and only if the hit was spent.
const hitSQL = `
with w as (
	select ` + windowSQL + ` as start
), est as (
	select w.start,
	       coalesce((select p.hits from rate_limits p
	                 where p.scope = $1::text and p.key = $2::text and p.window_ms = $3::bigint
	                   and p.window_start = w.start - $3::bigint * interval '1 millisecond'), 0)
	       * (1 - extract(epoch from now() - w.start) * 1000 / $3::bigint) as carried
	from w
)
insert into rate_limits as r (scope, key, window_ms, window_start, hits, expires_at)
select $1::text, $2::text, $3::bigint, est.start, $5::integer, est.start + 2 * $3::bigint * interval '1 millisecond'
from est
where est.carried + $5::integer <= $4::integer
on conflict (scope, key, window_ms, window_start) do update
	set hits = r.hits + excluded.hits
	where (select est.carried from est) + r.hits + excluded.hits <= $4::integer
returning r.hits`

// usageSQL reads a limit's previous and current window hits and how far
// into the current window now() is, in ms. Same parameters $1–$3.
const usageSQL = `
with w as (
	select ` + windowSQL + ` as start
)
select coalesce((select p.hits from rate_limits p
                 where p.scope = $1::text and p.key = $2::text and p.window_ms = $3::bigint
                   and p.window_start = w.start - $3::bigint * interval '1 millisecond'), 0),
       coalesce((select c.hits from rate_limits c
                 where c.scope = $1::text and c.key = $2::text and c.window_ms = $3::bigint and c.window_start = w.start), 0),
       (extract(epoch from now() - w.start) * 1000)::float8
from w`

// usage is a limit's state at one moment.
type usage struct {
	prev, cur int
	elapsed   float64 // ms into the current window
	window    float64 // ms
}

// estimate is the sliding-window usage.
func (u usage) estimate() float64 {
	return float64(u.prev)*(1-u.elapsed/u.window) + float64(u.cur)
}

// used is the estimate rounded up, so that used+cost ≤ max exactly when
// the estimate plus cost is.
func (u usage) used() int {
	return int(math.Ceil(u.estimate() - 1e-9))
}

// retryAfter is how long until cost more units fit under max, assuming no
// other hits; 0 when they fit now.
func (u usage) retryAfter(cost, maxHits int) time.Duration {
	room := float64(maxHits - cost)
	if u.estimate() <= room+1e-9 {
		return 0
	}
	var ms float64
	switch {
	case cost > maxHits:
		// Never fits: wait until both windows have passed.
		ms = 2*u.window - u.elapsed
	case u.cur <= maxHits-cost:
		// Fits later in this window, once enough of prev has slid out:
		// prev × (1 − t/window) ≤ room − cur.
		t := u.window * (1 - (room-float64(u.cur))/float64(u.prev))
		ms = t - u.elapsed
	default:
		// Fits in the next window, once enough of cur has slid out:
		// cur × (1 − t/window) ≤ room.
		t := u.window * (1 - room/float64(u.cur))
		ms = u.window - u.elapsed + t
	}
	d := time.Duration(math.Ceil(ms)) * time.Millisecond
	return max(d, time.Millisecond)
}

// normalize validates h and returns it with its defaults applied and its
// window in milliseconds.
func (h LimitHit) normalize() (LimitHit, int64, error) {
	if h.Scope == "" || h.Key == "" {
		return h, 0, errors.New("store: limit hit needs a scope and a key")
	}
	if h.Cost == 0 {
		h.Cost = 1
	}
	if h.Cost < 0 || h.Max < 0 {
		return h, 0, fmt.Errorf("store: limit %q: negative max or cost", h.Scope)
	}
	ms := h.Window.Milliseconds()
	if ms < 1 {
		return h, 0, fmt.Errorf("store: limit %q: window %v is shorter than a millisecond", h.Scope, h.Window)
	}
	return h, ms, nil
}

// Hit checks and spends several limits atomically: either every limit has
// room for its hit and all are spent, or none is spent and the result names
// the exceeded ones. Hits for the same counter in one call add up. It is
// safe under any concurrency (see the design note above). Occasionally it
// also deletes a batch of expired counters.
func (s *Store) Hit(ctx context.Context, hits []LimitHit) (LimitResult, error) {
	if len(hits) == 0 {
		return LimitResult{Allowed: true}, nil
	}
	norm := make([]LimitHit, len(hits))
	windows := make([]int64, len(hits))
	for i, h := range hits {
		var err error
		if norm[i], windows[i], err = h.normalize(); err != nil {
			return LimitResult{}, err
		}
	}
	// Lock order: by counter, so concurrent calls cannot deadlock.
	order := make([]int, len(hits))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(norm[a].Scope, norm[b].Scope), cmp.Compare(norm[a].Key, norm[b].Key),
			cmp.Compare(windows[a], windows[b]))
	})

	refused := make([]bool, len(hits))
	waits := make([]time.Duration, len(hits))
	// run sends the hits in lock order in one round trip, then reads the
	// usage of the refused ones for their RetryAfter: still under the
	// rows' locks when q is a transaction, and in later statements, which
	// see the latest committed versions.
	run := func(q batcher) error {
		b := &pgx.Batch{}
		for _, i := range order {
			h := norm[i]
			b.Queue(hitSQL, h.Scope, h.Key, windows[i], h.Max, h.Cost)
		}
		var refusedIdx []int
		br := q.SendBatch(ctx, b)
		for _, i := range order {
			var spent int
			err := br.QueryRow().Scan(&spent)
			if errors.Is(err, pgx.ErrNoRows) {
				refusedIdx = append(refusedIdx, i)
				continue
			}
			if err != nil {
				_ = br.Close()
				return fmt.Errorf("hit %q: %w", norm[i].Scope, err)
			}
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("hit: %w", err)
		}
		for _, i := range refusedIdx {
			h := norm[i]
			u, err := readUsage(ctx, q, h.Scope, h.Key, windows[i])
			if err != nil {
				return err
			}
			refused[i], waits[i] = true, u.retryAfter(h.Cost, h.Max)
		}
		if len(refusedIdx) > 0 {
			return errLimitRefused
		}
		return nil
	}
	var err error
	if len(hits) == 1 {
		// One statement is atomic on its own, and a refused one changes nothing.
		err = run(s.pool)
	} else {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return run(tx) })
	}
	if err != nil && !errors.Is(err, errLimitRefused) {
		return LimitResult{}, fmt.Errorf("store: %w", err)
	}
	res := LimitResult{Allowed: err == nil}
	for i, r := range refused {
		if r {
			res.Exceeded = append(res.Exceeded, norm[i].Scope)
			res.RetryAfter = max(res.RetryAfter, waits[i])
		}
	}
	if len(res.Exceeded) > 0 {
		res.Scope = res.Exceeded[0]
	}
	if rand.IntN(limitsGCOneIn) == 0 {
		// Best effort: PruneLimits from a periodic job is the guarantee.
		_, _ = s.pruneLimitsBatch(ctx, nil, limitsGCBatch)
	}
	return res, nil
}

// Peek reports a limit's usage without spending it: the units used in the
// sliding window now (rounded up) and how long until hit.Cost more units
// would fit (0 when they fit now).
func (s *Store) Peek(ctx context.Context, hit LimitHit) (used int, retryAfter time.Duration, err error) {
	h, ms, err := hit.normalize()
	if err != nil {
		return 0, 0, err
	}
	u, err := readUsage(ctx, s.pool, h.Scope, h.Key, ms)
	if err != nil {
		return 0, 0, fmt.Errorf("store: %w", err)
	}
	return u.used(), u.retryAfter(h.Cost, h.Max), nil
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// batcher is a pool or a transaction.
type batcher interface {
	querier
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

func readUsage(ctx context.Context, q querier, scope, key string, windowMS int64) (usage, error) {
	u := usage{window: float64(windowMS)}
	if err := q.QueryRow(ctx, usageSQL, scope, key, windowMS).Scan(&u.prev, &u.cur, &u.elapsed); err != nil {
		return usage{}, fmt.Errorf("limit usage %q: %w", scope, err)
	}
	return u, nil
}

// PruneLimits deletes the rate-limit counters that no longer count at
// before (a window's counter counts until the end of the window after it),
// in batches, and returns how many it deleted. Pass time.Now() from a
// periodic job; Hit also prunes opportunistically.
func (s *Store) PruneLimits(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.pruneLimitsBatch(ctx, &before, pruneBatch)
		total += n
		if err != nil {
			return total, err
		}
		if n < pruneBatch {
			return total, nil
		}
	}
}

// pruneLimitsBatch deletes up to limit expired counters (expired at before,
// or at the database's now() when before is nil), skipping rows that a
// concurrent Hit holds.
func (s *Store) pruneLimitsBatch(ctx context.Context, before *time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `
		delete from rate_limits where ctid = any(array(
			select ctid from rate_limits where expires_at <= coalesce($1::timestamptz, now())
			limit $2 for update skip locked))`, before, limit)
	if err != nil {
		return 0, fmt.Errorf("store: prune limits: %w", err)
	}
	return tag.RowsAffected(), nil
}
