package verify

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/apikey"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/keycache"
	"github.com/veriflow/veriflow/internal/localpg"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/store/storetest"
)

// replica is one API replica's authentication: its own pool, its own key
// cache and its own listener on the shared database.
type replica struct {
	svc   *Service
	cache *keycache.Cache
}

func newReplica(t *testing.T, url string) replica {
	t.Helper()
	st := storetest.OpenURL(t, url)
	c := keycache.New(keycache.Options{TTL: time.Hour, Heartbeat: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx, st) }()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, "the replica's listener", c.Live)
	return replica{svc: New(Deps{Store: st, Keys: c}), cache: c}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
}

func rawConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// authenticated authenticates key at r twice and checks the second time
// was a cache hit.
// cachedKey creates a key through rs[0] and has every replica of rs serve
// it from its cache. The creation notifies, and a notification that
// arrives after the key was cached drops it again: each replica first
// applies it, so the tests below read the cache, not Postgres.
func cachedKey(t *testing.T, rs ...replica) apikey.Key {
	t.Helper()
	before := make([]int64, len(rs))
	for i, r := range rs {
		before[i] = r.cache.Stats().Invalidations
	}
	k, err := rs[0].svc.CreateKey(t.Context(), "acme", contract.ModeLive, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		waitUntil(t, "the key's creation notification", func() bool { return r.cache.Stats().Invalidations > before[i] })
		for range 2 {
			if _, err := r.svc.Authenticate(t.Context(), k.String()); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
		}
		if _, ok := r.cache.Get(k.ID); !ok {
			t.Fatal("the key is not cached after two requests")
		}
	}
	return k
}

// revokeQuietly revokes key id the way a hand-written UPDATE in psql
// would: without a notification.
func revokeQuietly(t *testing.T, conn *pgx.Conn, id string) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), `update api_keys set revoked_at = now() where id = $1`, id); err != nil {
		t.Fatal(err)
	}
}

// TestRevocationReachesEveryReplica: two replicas serve a key from their
// caches; it is revoked through one of them; the other refuses it on its
// next request once the notification arrived — and only the notification
// did it (the TTL is an hour).
func TestRevocationReachesEveryReplica(t *testing.T) {
	url := localpg.ForTest(t)
	a, b := newReplica(t, url), newReplica(t, url)
	ctx := t.Context()
	k := cachedKey(t, a, b)
	hits := b.cache.Stats().Hits

	revoked := b.cache.Stats().Invalidations
	if _, err := a.svc.RevokeKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the revocation's notification at the other replica", func() bool { return b.cache.Stats().Invalidations > revoked })
	for _, r := range []replica{a, b} {
		_, err := r.svc.Authenticate(ctx, k.String())
		kindOf(t, err, Unauthorized)
	}
	// Refused from the cache afterwards: the revoked key is cached as revoked.
	_, err := b.svc.Authenticate(ctx, k.String())
	kindOf(t, err, Unauthorized)
	if got := b.cache.Stats().Hits; got != hits+1 { // a miss that read the revocation, then this hit
		t.Errorf("%d hits, want %d", got, hits+1)
	}
}

// TestOnlyTheNotificationEndsACachedKey: a revocation written without a
// notification (by hand in psql) leaves the key served until a
// notification comes (or the TTL ends); pg_notify(…, '*') ends it.
func TestOnlyTheNotificationEndsACachedKey(t *testing.T) {
	url := localpg.ForTest(t)
	r := newReplica(t, url)
	ctx := t.Context()
	k := cachedKey(t, r)
	conn := rawConn(t, url)
	revokeQuietly(t, conn, k.ID)
	if _, err := r.svc.Authenticate(ctx, k.String()); err != nil {
		t.Fatalf("the cached key was refused without a notification (%v): the test proves nothing", err)
	}
	notified := r.cache.Stats().Invalidations
	if _, err := conn.Exec(ctx, `select pg_notify($1, '*')`, store.APIKeysChannel); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the notification", func() bool { return r.cache.Stats().Invalidations > notified })
	_, err := r.svc.Authenticate(ctx, k.String())
	kindOf(t, err, Unauthorized)
}

// TestKeyCreatedAfterAMissWorksAtOnce: an unknown key is not cached, so
// creating it (at another replica) lets it in on the next request.
func TestKeyCreatedAfterAMissWorksAtOnce(t *testing.T) {
	url := localpg.ForTest(t)
	a, b := newReplica(t, url), newReplica(t, url)
	ctx := t.Context()
	const fixed = "vf_live_abcdefghijkl_0123456789abcdefghij"
	for range 2 {
		_, err := b.svc.Authenticate(ctx, fixed)
		kindOf(t, err, Unauthorized)
	}
	if _, err := a.svc.CreateKey(ctx, "acme", contract.ModeLive, fixed); err != nil {
		t.Fatal(err)
	}
	if got, err := b.svc.Authenticate(ctx, fixed); err != nil || got.ID != "acme" {
		t.Fatalf("a key created after a miss: %+v, %v", got, err)
	}
	// Revoked, then created again (un-revoked): works at once too.
	if _, err := a.svc.RevokeKey(ctx, fixed); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the revocation at b", func() bool {
		_, err := b.svc.Authenticate(ctx, fixed)
		return err != nil
	})
	if _, err := a.svc.CreateKey(ctx, "acme", contract.ModeLive, fixed); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the un-revocation at b", func() bool {
		_, err := b.svc.Authenticate(ctx, fixed)
		return err == nil
	})
}

// TestListenerReconnectFlushes: while the listener's connection is gone
// the cache is bypassed (a revocation in that window is not missed), and
// it comes back empty.
func TestListenerReconnectFlushes(t *testing.T) {
	url := localpg.ForTest(t)
	r := newReplica(t, url)
	ctx := t.Context()
	k := cachedKey(t, r)
	conn := rawConn(t, url)
	// Revoked without a notification, then the listener's connection is
	// ended: the revocation's notification "was missed".
	revokeQuietly(t, conn, k.ID)
	var ended int
	if err := conn.QueryRow(ctx, `select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = $1`,
		store.ListenerApplicationName).Scan(&ended); err != nil || ended != 1 {
		t.Fatalf("ended %d listeners (%v), want 1", ended, err)
	}
	waitUntil(t, "the listener to notice and reconnect", func() bool { return r.cache.Stats().Connects >= 2 && r.cache.Live() })
	_, err := r.svc.Authenticate(ctx, k.String())
	kindOf(t, err, Unauthorized)
}
