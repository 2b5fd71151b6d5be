package store

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/localpg"
)

// openLimits opens a migrated store on a fresh database with a pool large
// enough for the concurrency tests.
func openLimits(t *testing.T) *Store {
	t.Helper()
	u, err := url.Parse(localpg.ForTest(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "60")
	u.RawQuery = q.Encode()
	ctx := t.Context()
	s, err := Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFor polls cond until it is true or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLimits(t *testing.T) {
	s := openLimits(t)
	// Long windows for the tests that must not cross a window boundary:
	// windows are aligned to the epoch, so a day-long one is crossed only
	// at midnight UTC.
	const day = 24 * time.Hour

	t.Run("concurrent hits: exactly Max allowed", func(t *testing.T) {
		ctx := t.Context()
		hit := LimitHit{Scope: "test.concurrent", Key: "k1", Window: day, Max: 10}
		var allowed, refused int
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 50 {
			wg.Go(func() {
				<-start
				res, err := s.Hit(ctx, []LimitHit{hit})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Error(err)
				case res.Allowed:
					allowed++
				default:
					refused++
					if res.Scope != hit.Scope || res.RetryAfter <= 0 {
						t.Errorf("refusal: %+v", res)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		if allowed != 10 || refused != 40 {
			t.Fatalf("allowed %d, refused %d; want 10 and 40", allowed, refused)
		}
		used, retry, err := s.Peek(ctx, hit)
		if err != nil || used != 10 || retry <= 0 {
			t.Fatalf("Peek = %d, %v, %v; want 10, >0", used, retry, err)
		}
	})

	t.Run("concurrent multi-hits in both orders: all or nothing, no deadlock", func(t *testing.T) {
		ctx := t.Context()
		a := LimitHit{Scope: "test.multi.a", Key: "k", Window: day, Max: 10}
		b := LimitHit{Scope: "test.multi.b", Key: "k", Window: day, Max: 1000}
		var allowed int
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 50 {
			hits := []LimitHit{a, b}
			if i%2 == 1 {
				hits = []LimitHit{b, a}
			}
			wg.Go(func() {
				<-start
				res, err := s.Hit(ctx, hits)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				} else if res.Scope != a.Scope {
					t.Errorf("refused by %q, want %q", res.Scope, a.Scope)
				}
			})
		}
		close(start)
		wg.Wait()
		usedA, _, errA := s.Peek(ctx, a)
		usedB, _, errB := s.Peek(ctx, b)
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if allowed != 10 || usedA != 10 || usedB != 10 {
			t.Fatalf("allowed %d, used a %d, b %d; want 10 each (b must not count refused calls)", allowed, usedA, usedB)
		}
	})

	t.Run("all or nothing across several hits", func(t *testing.T) {
		ctx := t.Context()
		roomy := LimitHit{Scope: "test.aon.roomy", Key: "k", Window: day, Max: 100}
		tight := LimitHit{Scope: "test.aon.tight", Key: "k", Window: day, Max: 2}
		other := LimitHit{Scope: "test.aon.other", Key: "k", Window: day, Max: 1, Cost: 1}
		for i := range 2 {
			res, err := s.Hit(ctx, []LimitHit{roomy, tight})
			if err != nil || !res.Allowed {
				t.Fatalf("hit %d: %+v, %v", i, res, err)
			}
		}
		if _, err := s.Hit(ctx, []LimitHit{other}); err != nil {
			t.Fatal(err)
		}
		res, err := s.Hit(ctx, []LimitHit{roomy, other, tight})
		if err != nil {
			t.Fatal(err)
		}
		if res.Allowed || res.Scope != other.Scope || len(res.Exceeded) != 2 || res.Exceeded[1] != tight.Scope || res.RetryAfter <= 0 {
			t.Fatalf("want refused by other then tight, got %+v", res)
		}
		if used, _, _ := s.Peek(ctx, roomy); used != 2 {
			t.Fatalf("roomy used %d after a refused call, want 2", used)
		}
		// The same counter twice in one call adds up.
		pair := LimitHit{Scope: "test.aon.pair", Key: "k", Window: day, Max: 3}
		if res, err := s.Hit(ctx, []LimitHit{pair, pair}); err != nil || !res.Allowed {
			t.Fatalf("pair: %+v, %v", res, err)
		}
		if res, err := s.Hit(ctx, []LimitHit{pair, pair}); err != nil || res.Allowed {
			t.Fatalf("second pair must be refused: %+v, %v", res, err)
		}
		if used, _, _ := s.Peek(ctx, pair); used != 2 {
			t.Fatalf("pair used %d, want 2", used)
		}
	})

	t.Run("scopes, keys and windows are independent; cost", func(t *testing.T) {
		ctx := t.Context()
		base := LimitHit{Scope: "test.indep", Key: "k", Window: day, Max: 3, Cost: 3}
		for _, h := range []LimitHit{
			base,
			{Scope: "test.indep2", Key: "k", Window: day, Max: 3, Cost: 3},
			{Scope: "test.indep", Key: "k2", Window: day, Max: 3, Cost: 3},
			{Scope: "test.indep", Key: "k", Window: time.Hour, Max: 3, Cost: 3},
		} {
			if res, err := s.Hit(ctx, []LimitHit{h}); err != nil || !res.Allowed {
				t.Fatalf("%+v: %+v, %v", h, res, err)
			}
		}
		if res, err := s.Hit(ctx, []LimitHit{{Scope: "test.indep", Key: "k", Window: day, Max: 3}}); err != nil || res.Allowed {
			t.Fatalf("want refused: %+v, %v", res, err)
		}
		// A cost above max never fits; max 0 refuses everything.
		for _, h := range []LimitHit{
			{Scope: "test.toobig", Key: "k", Window: day, Max: 2, Cost: 3},
			{Scope: "test.zero", Key: "k", Window: day, Max: 0},
		} {
			res, err := s.Hit(ctx, []LimitHit{h})
			if err != nil || res.Allowed || res.RetryAfter <= 0 {
				t.Fatalf("%+v: %+v, %v", h, res, err)
			}
		}
	})

	t.Run("invalid hits", func(t *testing.T) {
		ctx := t.Context()
		for _, h := range []LimitHit{
			{Key: "k", Window: day, Max: 1},
			{Scope: "s", Window: day, Max: 1},
			{Scope: "s", Key: "k", Window: time.Microsecond, Max: 1},
			{Scope: "s", Key: "k", Window: day, Max: -1},
			{Scope: "s", Key: "k", Window: day, Max: 1, Cost: -1},
		} {
			if _, err := s.Hit(ctx, []LimitHit{h}); err == nil {
				t.Errorf("Hit(%+v): want an error", h)
			}
			if _, _, err := s.Peek(ctx, h); err == nil {
				t.Errorf("Peek(%+v): want an error", h)
			}
		}
		if res, err := s.Hit(ctx, nil); err != nil || !res.Allowed {
			t.Errorf("no hits: %+v, %v", res, err)
		}
	})

	t.Run("canceled context is an error, not a refusal", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.Hit(ctx, []LimitHit{{Scope: "test.cancel", Key: "k", Window: day, Max: 1}}); err == nil {
			t.Fatal("want an error")
		}
	})

	t.Run("Peek does not spend", func(t *testing.T) {
		ctx := t.Context()
		h := LimitHit{Scope: "test.peek", Key: "k", Window: day, Max: 3}
		if used, retry, err := s.Peek(ctx, h); err != nil || used != 0 || retry != 0 {
			t.Fatalf("fresh Peek = %d, %v, %v", used, retry, err)
		}
		for range 2 {
			if _, err := s.Hit(ctx, []LimitHit{h}); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			if used, retry, err := s.Peek(ctx, h); err != nil || used != 2 || retry != 0 {
				t.Fatalf("Peek = %d, %v, %v; want 2, 0", used, retry, err)
			}
		}
		// Cost 2 would not fit.
		h2 := h
		h2.Cost = 2
		if used, retry, err := s.Peek(ctx, h2); err != nil || used != 2 || retry <= 0 {
			t.Fatalf("Peek cost 2 = %d, %v, %v; want 2, >0", used, retry, err)
		}
	})

	t.Run("windows expire", func(t *testing.T) {
		ctx := t.Context()
		h := LimitHit{Scope: "test.expiry", Key: "k", Window: time.Second, Max: 2}
		// Fill the limit (retrying in case the window rolls over meanwhile).
		var res LimitResult
		waitFor(t, 10*time.Second, "the limit to fill", func() bool {
			var err error
			if res, err = s.Hit(ctx, []LimitHit{h}); err != nil {
				t.Fatal(err)
			}
			return !res.Allowed
		})
		if res.RetryAfter <= 0 || res.RetryAfter > 2*time.Second {
			t.Fatalf("RetryAfter %v, want in (0, 2s]", res.RetryAfter)
		}
		refusedAt := time.Now()
		waitFor(t, 5*time.Second, "the budget to come back", func() bool {
			_, retry, err := s.Peek(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			return retry == 0
		})
		if res, err := s.Hit(ctx, []LimitHit{h}); err != nil || !res.Allowed {
			t.Fatalf("after the window: %+v, %v", res, err)
		}
		if waited := time.Since(refusedAt); waited > res.RetryAfter+2*time.Second {
			t.Errorf("budget came back after %v, RetryAfter said %v", waited, res.RetryAfter)
		}
		// Two windows later nothing counts any more.
		waitFor(t, 5*time.Second, "the counters to age out", func() bool {
			used, _, err := s.Peek(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			return used == 0
		})
	})

	t.Run("prune", func(t *testing.T) {
		ctx := t.Context()
		short := LimitHit{Scope: "test.prune.short", Window: time.Second, Max: 100}
		long := LimitHit{Scope: "test.prune.long", Key: "k", Window: day, Max: 100}
		for i := range 5 {
			short.Key = fmt.Sprint("k", i)
			if _, err := s.Hit(ctx, []LimitHit{short, long}); err != nil {
				t.Fatal(err)
			}
		}
		count := func(scope string) int {
			var n int
			if err := s.pool.QueryRow(ctx, `select count(*) from rate_limits where scope = $1`, scope).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(short.Scope); n != 5 {
			t.Fatalf("%d short counters, want 5", n)
		}
		if n, err := s.PruneLimits(ctx, time.Now().Add(-time.Minute)); err != nil || n != 0 {
			t.Fatalf("early prune deleted %d, %v", n, err)
		}
		// Short counters expire within two seconds (plus clock slack).
		var total int64
		waitFor(t, 10*time.Second, "short counters to be pruned", func() bool {
			n, err := s.PruneLimits(ctx, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			total += n
			return count(short.Scope) == 0
		})
		if total < 5 || count(long.Scope) != 1 {
			t.Fatalf("pruned %d, long counters left %d; want ≥5 and 1", total, count(long.Scope))
		}
		// Pruning with a time past every window empties the table.
		if _, err := s.PruneLimits(ctx, time.Now().Add(3*day)); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := s.pool.QueryRow(ctx, `select count(*) from rate_limits`).Scan(&left); err != nil || left != 0 {
			t.Fatalf("%d counters left, %v", left, err)
		}
	})
}

func TestUsageMath(t *testing.T) {
	const w = 1000.0
	cases := []struct {
		name      string
		u         usage
		cost, max int
		used      int
		retry     time.Duration
	}{
		{"empty", usage{0, 0, 500, w}, 1, 5, 0, 0},
		{"room", usage{0, 4, 500, w}, 1, 5, 4, 0},
		{"full, no prev: next window, all of cur must slide out", usage{0, 5, 500, w}, 1, 5, 5, 500*time.Millisecond + 200*time.Millisecond},
		{"prev half out", usage{10, 0, 500, w}, 1, 5, 5, 100 * time.Millisecond},
		{"prev weighted, fits", usage{10, 0, 600, w}, 1, 5, 4, 0},
		{"cost above max", usage{0, 0, 250, w}, 6, 5, 0, 1750 * time.Millisecond},
		{"max zero", usage{0, 0, 0, w}, 1, 0, 0, 2 * time.Second},
	}
	for _, c := range cases {
		if got := c.u.used(); got != c.used {
			t.Errorf("%s: used %d, want %d", c.name, got, c.used)
		}
		if got := c.u.retryAfter(c.cost, c.max); got != c.retry {
			t.Errorf("%s: retryAfter %v, want %v", c.name, got, c.retry)
		}
	}
}
