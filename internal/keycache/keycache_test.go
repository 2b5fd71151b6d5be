package keycache

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/store"
)

// fakeListener is a listener the test drives: each ListenAPIKeys call is
// one connection, which lasts until the test drops it.
type fakeListener struct {
	mu     sync.Mutex
	notify func(string)
	drop   chan struct{}
}

func newFakeListener() *fakeListener { return &fakeListener{drop: make(chan struct{})} }

func (f *fakeListener) ListenAPIKeys(ctx context.Context, _ time.Duration, ready func(), notify func(string)) error {
	f.mu.Lock()
	f.notify = notify
	drop := f.drop
	f.mu.Unlock()
	ready()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-drop:
		return errors.New("connection lost")
	}
}

func (f *fakeListener) send(payload string) {
	f.mu.Lock()
	n := f.notify
	f.mu.Unlock()
	n(payload)
}

// dropConnection ends the current connection; the next one lasts until
// the next call.
func (f *fakeListener) dropConnection() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.drop)
	f.drop = make(chan struct{})
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not waiting for time to pass
	}
}

// running returns a cache whose fake listener is connected.
func running(t *testing.T, o Options) (*Cache, *fakeListener) {
	t.Helper()
	c, l := New(o), newFakeListener()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the listener", c.Live)
	return c, l
}

func key(id string) store.APIKey {
	return store.APIKey{ID: id, TenantID: "acme", Mode: "live", SecretHash: []byte{1}}
}

func TestNotLiveCachesNothing(t *testing.T) {
	c := New(Options{})
	c.Put(c.Generation(), key("a"))
	if _, ok := c.Get("a"); ok {
		t.Fatal("a cache without its listener served a key")
	}
	if s := c.Stats(); s.Bypasses != 1 || c.Len() != 0 {
		t.Fatalf("stats %+v, len %d; want 1 bypass, nothing held", s, c.Len())
	}
	var nilCache *Cache
	nilCache.Put(0, key("a"))
	if _, ok := nilCache.Get("a"); ok {
		t.Fatal("a nil cache served a key")
	}
}

func TestHitInvalidateAndTTL(t *testing.T) {
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	c, l := running(t, Options{TTL: 30 * time.Second, Now: clk.Now})
	c.Put(c.Generation(), key("a"))
	c.Put(c.Generation(), key("b"))
	if _, ok := c.Get("a"); !ok {
		t.Fatal("a fresh key missed")
	}
	l.send("a")
	if _, ok := c.Get("a"); ok {
		t.Fatal("a key served after its notification")
	}
	if _, ok := c.Get("b"); !ok {
		t.Fatal("another key's notification dropped b")
	}
	clk.Add(29 * time.Second)
	if _, ok := c.Get("b"); !ok {
		t.Fatal("b missed before its TTL")
	}
	clk.Add(time.Second)
	if _, ok := c.Get("b"); ok {
		t.Fatal("b served at its TTL")
	}
	c.Put(c.Generation(), key("c"))
	l.send("*")
	if _, ok := c.Get("c"); ok || c.Len() != 0 {
		t.Fatal(`"*" did not flush`)
	}
	if s := c.Stats(); s.Hits != 3 || s.Misses != 3 || s.Invalidations != 2 {
		t.Fatalf("stats %+v; want 3 hits, 3 misses, 2 invalidations", s)
	}
}

// TestFillThatRacedANotificationIsDropped: a key read from Postgres before
// its revocation, stored after the revocation's notification, would
// outlive it; the generation check refuses it.
func TestFillThatRacedANotificationIsDropped(t *testing.T) {
	c, l := running(t, Options{})
	gen := c.Generation() // the request begins its read…
	l.send("a")           // …the revocation's notification arrives…
	c.Put(gen, key("a"))  // …and the stale read comes back
	if _, ok := c.Get("a"); ok {
		t.Fatal("a read that raced a revocation was cached")
	}
	c.Put(c.Generation(), key("a"))
	if _, ok := c.Get("a"); !ok {
		t.Fatal("a fresh read was not cached")
	}
}

// TestReconnectFlushes: the cache bypasses itself while its listener is
// down and comes back empty (a notification may have been missed).
func TestReconnectFlushes(t *testing.T) {
	c, l := running(t, Options{})
	c.Put(c.Generation(), key("a"))
	gen := c.Generation()
	l.dropConnection()
	waitFor(t, "the reconnection", func() bool { return c.Stats().Connects == 2 })
	if _, ok := c.Get("a"); ok {
		t.Fatal("a key cached before the reconnection was served after it")
	}
	c.Put(gen, key("a")) // a read begun before the drop
	if c.Len() != 0 {
		t.Fatal("a read begun before the reconnection was cached")
	}
}

func TestBounded(t *testing.T) {
	c, _ := running(t, Options{MaxEntries: 3})
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		c.Put(c.Generation(), key(id))
		if c.Len() > 3 {
			t.Fatalf("%d entries, bound 3", c.Len())
		}
	}
	if _, ok := c.Get("e"); !ok {
		t.Fatal("the newest key was evicted")
	}
}

// TestConcurrent runs lookups, fills and notifications at once (go test
// -race finds unsynchronized access).
func TestConcurrent(t *testing.T) {
	c, l := running(t, Options{MaxEntries: 8})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				id := string(rune('a' + (g+i)%16))
				if _, ok := c.Get(id); !ok {
					c.Put(c.Generation(), key(id))
				}
				if i%50 == 0 {
					l.send(id)
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() > 8 {
		t.Fatalf("%d entries, bound 8", c.Len())
	}
}
