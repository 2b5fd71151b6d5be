package e2e

import (
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/apikey"
)

// TestRevokedKeyRefusedThroughTheCache: the API serves a used key from its
// key cache (no Postgres read), and a revocation (veriflow apikey revoke
// writes the same store call) reaches it through NOTIFY: the key is
// refused without waiting for the cache's 30 s TTL.
func TestRevokedKeyRefusedThroughTheCache(t *testing.T) {
	s := need(t)
	keys := s.app.Keys
	if keys == nil {
		t.Fatal("the stack's API has no key cache")
	}
	eventually(t, 10*time.Second, "the key cache's listener", keys.Live)
	key := s.newTenantKey(t, "keycache")
	// The key's own creation notifies; arriving after the first request
	// cached the key, it drops it once. So: rounds of 3 requests until one
	// round is served from the cache (≥ 2 hits).
	eventually(t, 10*time.Second, "3 requests with one key served from the cache", func() bool {
		hits := keys.Stats().Hits
		for range 3 {
			if r := s.call(t, "GET", "/v1/verifications/vrf_nosuchthing", key, nil); r.Status != 404 {
				t.Fatalf("a valid key: %d %s", r.Status, r.Body)
			}
		}
		return keys.Stats().Hits-hits >= 2
	})
	k, err := apikey.Parse(key)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.app.Store.RevokeAPIKey(t.Context(), k.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the revoked key's refusal", func() bool {
		return s.call(t, "GET", "/v1/verifications/vrf_nosuchthing", key, nil).Status == 401
	})
	t.Logf("refused %v after the revocation", time.Since(start).Round(time.Millisecond))
}
