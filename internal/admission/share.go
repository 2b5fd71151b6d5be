package admission

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// UnsentWindow is how far back admission looks for unsent starts: a
// verification still unsent after it is stuck, not queued, and must not
// lock its tenant out.
const UnsentWindow = 2 * time.Minute

// ShareRefresh is how often an API replica reads the unsent starts of all
// tenants for the share rule: five small queries a second per replica.
const ShareRefresh = 200 * time.Millisecond

// UnsentCounter counts, per tenant, the verifications created after since
// that are started but not sent yet (the store satisfies it: it is
// store.UnsentByTenant). Tenants with none may be absent.
type UnsentCounter interface {
	UnsentByTenant(ctx context.Context, since time.Time) (map[string]int, error)
}

// Level is the max-min fair share of bound among tenants holding counts
// (water filling): the level L at which the counts, each cut at L, sum to
// bound. A tenant holding less than L leaves what it does not use to the
// others. When the counts sum to less than bound nobody is cut: +Inf.
// bound ≤ 0 is +Inf too (no bound).
func Level(bound int, counts []int) float64 {
	if bound <= 0 {
		return math.Inf(1)
	}
	c := slices.Clone(counts)
	slices.Sort(c)
	left := float64(bound)
	for i, n := range c {
		k := float64(len(c) - i)
		if float64(n)*k >= left {
			return left / k
		}
		left -= float64(n)
	}
	return math.Inf(1)
}

// Refuse is the share rule: a start of tenant is refused only when the
// machine is busy — the unsent starts of all tenants reach bound — and
// tenant already holds at least its fair share (Level) of bound. A tenant
// under its share is always admitted, so a tenant with no unsent start is
// never refused for the others' load. bound ≤ 0 refuses nothing.
func Refuse(bound int, counts map[string]int, tenant string) bool {
	if bound <= 0 {
		return false
	}
	total := 0
	all := make([]int, 0, len(counts))
	for _, n := range counts {
		total += n
		all = append(all, n)
	}
	if total < bound {
		return false
	}
	return float64(counts[tenant]) >= Level(bound, all)
}

// Share applies the share rule (Refuse) to the unsent starts of all
// tenants in Postgres, shared by every API replica. It keeps a snapshot of
// the per-tenant counts, taken again when it is older than the refresh
// interval (one caller queries, the others decide on the snapshot they
// have), and counts the starts it admits into the snapshot until then, so
// a flood is held between refreshes too. Starts admitted in other replicas
// since the snapshot, and starts admitted while a refresh runs, are not in
// it: the bound overshoots by at most those. A nil *Share or bound ≤ 0
// admits everything. Safe for concurrent use.
type Share struct {
	bound   int
	window  time.Duration
	every   time.Duration
	counter UnsentCounter

	refreshing sync.Mutex // held by the one caller refreshing
	mu         sync.Mutex
	counts     map[string]int
	at         time.Time // when counts was read (zero: never)
}

// NewShare returns the share rule for bound unsent starts of all tenants
// together, counting the starts created in the last window, read from
// counter at most every refresh.
func NewShare(counter UnsentCounter, bound int, window, refresh time.Duration) *Share {
	return &Share{bound: bound, window: window, every: refresh, counter: counter}
}

// Bound is the global bound (0: the rule is off).
func (s *Share) Bound() int {
	if s == nil || s.bound < 0 {
		return 0
	}
	return s.bound
}

// Admit decides one start of tenant by the share rule and, when it is
// admitted, counts it in the snapshot. An error means the counts could not
// be read (Postgres).
func (s *Share) Admit(ctx context.Context, tenant string) (bool, error) {
	if s.Bound() == 0 {
		return true, nil
	}
	if err := s.fresh(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if Refuse(s.bound, s.counts, tenant) {
		return false, nil
	}
	s.counts[tenant]++
	return true, nil
}

// fresh refreshes the snapshot when it is stale. Only the first caller
// waits for a refresh (there is no snapshot yet); later, while one caller
// refreshes, the others go on with the snapshot they have.
func (s *Share) fresh(ctx context.Context) error {
	s.mu.Lock()
	never, stale := s.at.IsZero(), time.Since(s.at) >= s.every
	s.mu.Unlock()
	switch {
	case !stale:
		return nil
	case never:
		s.refreshing.Lock()
	case !s.refreshing.TryLock():
		return nil
	}
	defer s.refreshing.Unlock()
	s.mu.Lock()
	stale = s.at.IsZero() || time.Since(s.at) >= s.every
	s.mu.Unlock()
	if !stale { // another caller refreshed while this one waited
		return nil
	}
	return s.Refresh(ctx)
}

// Refresh reads the per-tenant counts now, replacing the snapshot and the
// starts admitted since the last one.
func (s *Share) Refresh(ctx context.Context) error {
	counts, err := s.counter.UnsentByTenant(ctx, time.Now().Add(-s.window))
	if err != nil {
		return fmt.Errorf("admission: unsent starts of all tenants: %w", err)
	}
	if counts == nil {
		counts = map[string]int{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts, s.at = counts, time.Now()
	return nil
}
