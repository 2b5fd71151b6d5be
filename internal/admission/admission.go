// Package admission bounds the starts each tenant may have in flight at
// once in one API replica, so that one tenant's flood is refused at the
// door (429 with Retry-After) instead of queueing in front of the other
// tenants' verifications. It is per replica: with R replicas a tenant may
// have up to R × the limit in flight (see docs/reliability.md, Isolation).
//
// It also holds the share rule (Share, share.go): when the unsent starts of
// all tenants reach a global bound, a tenant holding at least its max-min
// fair share of that bound is refused, and a tenant under it is admitted.
package admission

import "sync"

// Limiter counts each tenant's starts in flight against one limit. The
// zero limit admits everything. A Limiter is safe for concurrent use; a
// nil *Limiter admits everything too.
type Limiter struct {
	limit int
	mu    sync.Mutex
	held  map[string]int
}

// New returns a Limiter allowing each tenant limit starts in flight
// (limit ≤ 0: no limit).
func New(limit int) *Limiter {
	return &Limiter{limit: limit, held: map[string]int{}}
}

// Limit is the per-tenant bound (0: none).
func (l *Limiter) Limit() int {
	if l == nil || l.limit < 0 {
		return 0
	}
	return l.limit
}

// Acquire takes one of tenant's slots. It reports false, taking nothing,
// when tenant already holds all of them; otherwise release gives the slot
// back (calling it more than once gives back one slot only).
func (l *Limiter) Acquire(tenant string) (release func(), ok bool) {
	if l == nil || l.limit <= 0 {
		return func() {}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[tenant] >= l.limit {
		return nil, false
	}
	l.held[tenant]++
	var once sync.Once
	return func() { once.Do(func() { l.release(tenant) }) }, true
}

func (l *Limiter) release(tenant string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[tenant]--; l.held[tenant] <= 0 {
		delete(l.held, tenant)
	}
}

// InFlight is the number of tenant's starts in flight.
func (l *Limiter) InFlight(tenant string) int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held[tenant]
}
