// Package keycache keeps an API replica's authenticated API keys in
// memory, so a request (a start, a check, or one that admission control
// then refuses) does not read Postgres to authenticate.
//
// A key's change reaches every replica at once: the store notifies
// store.APIKeysChannel with the key's id in the statement that creates,
// un-revokes or revokes it, and Run listens on that channel on a
// connection of its own and drops the key when the notification arrives.
// The cache fails closed: it serves nothing while its listener is not
// connected (Get misses, Put stores nothing), it is flushed whenever the
// listener goes down and again when it is back (a notification may have
// been missed in between), and every entry expires after a safety TTL
// anyway (a listener whose connection died silently is noticed by its
// heartbeat; until then the TTL bounds an entry's life).
//
// Only keys Postgres has are cached (revoked ones included: un-revoking
// notifies too); an unknown id is not (no negative cache), so a key
// created a moment ago works at once.
package keycache

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/veriflow/veriflow/internal/metrics"
	"github.com/veriflow/veriflow/internal/store"
)

// Defaults of Options.
const (
	DefaultTTL        = 30 * time.Second
	DefaultMaxEntries = 10000
)

// Options configure a Cache; zero values take the defaults.
type Options struct {
	// TTL bounds how long an entry is served (DefaultTTL).
	TTL time.Duration
	// MaxEntries bounds the keys held (DefaultMaxEntries); past it an
	// expired entry, else an arbitrary one, makes room.
	MaxEntries int
	// Heartbeat is how often the listener checks that a notification goes
	// round (store.ListenAPIKeys; default: TTL/6, at most 5 s).
	Heartbeat time.Duration
	// Now is the clock (time.Now); tests move it.
	Now func() time.Time
	// Log reports the listener's failures (nil: discarded).
	Log *slog.Logger
	// Metrics counts lookups and the listener's state (nil: none).
	Metrics *metrics.Metrics
}

// Listener is what Run listens with: store.Store.ListenAPIKeys.
type Listener interface {
	ListenAPIKeys(ctx context.Context, heartbeat time.Duration, ready func(), notify func(payload string)) error
}

// Stats are a cache's counters since it was made.
type Stats struct {
	Hits, Misses, Bypasses int64
	// Connects counts the listener's successful LISTENs; Invalidations
	// the notifications applied (a key's or all).
	Connects, Invalidations int64
}

// Cache is one replica's API-key cache; the zero value is not usable (New).
// A nil *Cache caches nothing.
type Cache struct {
	o Options

	mu      sync.RWMutex
	entries map[string]entry
	// gen changes on every invalidation, flush and listener state change:
	// a fill that began under another generation is not stored, so a
	// read that raced a revocation cannot outlive its notification.
	gen  uint64
	live bool
	// counters count lookups by result, lock-free.
	counters map[string]*atomic.Int64
	// connects and invalidations are written under mu.
	connects, invalidations int64
}

type entry struct {
	key     store.APIKey
	expires time.Time
}

// New returns an empty cache whose listener is not running yet: until Run
// connects, every lookup bypasses it.
func New(o Options) *Cache {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = min(o.TTL/6, 5*time.Second)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Cache{o: o, entries: map[string]entry{}, counters: map[string]*atomic.Int64{
		metrics.KeyCacheHit: new(atomic.Int64), metrics.KeyCacheMiss: new(atomic.Int64), metrics.KeyCacheBypass: new(atomic.Int64),
	}}
}

// Get returns the cached key of id; false when it is not cached, expired,
// or the listener is down.
func (c *Cache) Get(id string) (store.APIKey, bool) {
	if c == nil {
		return store.APIKey{}, false
	}
	c.mu.RLock()
	live := c.live
	e, ok := c.entries[id]
	c.mu.RUnlock()
	result := metrics.KeyCacheHit
	switch {
	case !live:
		result, ok = metrics.KeyCacheBypass, false
	case !ok || !c.o.Now().Before(e.expires):
		result, ok = metrics.KeyCacheMiss, false
	}
	c.counters[result].Add(1)
	c.o.Metrics.ObserveKeyLookup(result)
	return e.key, ok
}

// Generation is taken before reading a key from Postgres and handed to
// Put with what was read.
func (c *Cache) Generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// Put caches k as read from Postgres under generation gen; it stores
// nothing if anything was invalidated since gen was taken or the listener
// is down.
func (c *Cache) Put(gen uint64, k store.APIKey) {
	if c == nil {
		return
	}
	now := c.o.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || gen != c.gen {
		return
	}
	if _, ok := c.entries[k.ID]; !ok && len(c.entries) >= c.o.MaxEntries {
		c.evict(now)
	}
	c.entries[k.ID] = entry{key: k, expires: now.Add(c.o.TTL)}
}

// evict makes room for one entry: expired ones go first, else one
// arbitrary entry (map order). Called with mu held.
func (c *Cache) evict(now time.Time) {
	for id, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, id)
		}
	}
	for id := range c.entries {
		if len(c.entries) < c.o.MaxEntries {
			return
		}
		delete(c.entries, id)
	}
}

// Touched records that the key's last use was written at at, so the
// cached copy does not ask for another write within the minute.
func (c *Cache) Touched(id string, at time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok {
		e.key.LastUsedAt = &at
		c.entries[id] = e
	}
}

// Invalidate drops one key ("*" or "": all of them).
func (c *Cache) Invalidate(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.invalidations++
	if id == "*" || id == "" {
		clear(c.entries)
		return
	}
	delete(c.entries, id)
}

// setLive flushes the cache and sets the listener's state.
func (c *Cache) setLive(live bool) {
	c.mu.Lock()
	c.gen++
	clear(c.entries)
	c.live = live
	if live {
		c.connects++
	}
	c.mu.Unlock()
	c.o.Metrics.SetKeyListenerUp(live)
}

// Live says whether the listener is connected (the cache serves keys).
func (c *Cache) Live() bool {
	if c == nil {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.live
}

// Stats returns the counters.
func (c *Cache) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return Stats{Hits: c.counters[metrics.KeyCacheHit].Load(), Misses: c.counters[metrics.KeyCacheMiss].Load(),
		Bypasses: c.counters[metrics.KeyCacheBypass].Load(), Connects: c.connects, Invalidations: c.invalidations}
}

// Len returns the number of keys held.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// Run keeps the listener connected until ctx ends: each (re)connection
// flushes the cache before it serves again, each lost connection flushes
// it and bypasses it until the next one; reconnections back off from
// 100 ms to 5 s. It returns nil when ctx ends.
func (c *Cache) Run(ctx context.Context, l Listener) error {
	backoff := 100 * time.Millisecond
	for {
		connected := false
		err := l.ListenAPIKeys(ctx, c.o.Heartbeat, func() {
			connected = true
			c.setLive(true)
		}, c.Invalidate)
		c.setLive(false)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			backoff = 100 * time.Millisecond
		}
		c.o.Log.WarnContext(ctx, "api key cache: listener down, cache bypassed until it reconnects", "error", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
