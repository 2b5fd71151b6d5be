package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/store"
)

// isolationTenant creates a fresh test-mode tenant and returns its id and
// key.
func (s *stack) isolationTenant(t *testing.T, prefix string) (id, key string) {
	t.Helper()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	id = prefix + "_" + hex.EncodeToString(suffix)
	key, err := s.server.CreateKey(t.Context(), id, contract.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	return id, key
}

// wantBusy asserts that tenant's start was refused for its own load: 429
// rate_limited with a Retry-After, and no verification created.
func (s *stack) wantBusy(t *testing.T, tenant, key string, body map[string]any, what string) {
	t.Helper()
	before := s.countVerifications(t, tenant)
	r := s.call(t, "POST", "/v1/verifications", key, body)
	if p := r.problem(t); r.Status != http.StatusTooManyRequests || p.Code != "rate_limited" {
		t.Fatalf("%s: %d %s, want 429 rate_limited", what, r.Status, r.Body)
	}
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Fatalf("%s: Retry-After %q", what, r.Header.Get("Retry-After"))
	}
	if after := s.countVerifications(t, tenant); after != before {
		t.Fatalf("%s: a refused start created a verification", what)
	}
}

// TestTenantAdmission: a tenant that holds all its admission slots — starts
// in flight in this replica, or verifications started but not sent — is
// answered 429 with Retry-After, while another tenant's starts are admitted
// at the same moment; a freed slot admits the first tenant again
// (docs/reliability.md, Isolation). The slots are taken directly (held
// in-flight slots; stored unsent rows), so nothing depends on timing.
func TestTenantAdmission(t *testing.T) {
	s := need(t)
	body := map[string]any{"kind": "signup", "to": map[string]string{"phone": "+15005550000"}, "supersede": false}
	a, keyA := s.isolationTenant(t, "iso_a")
	_, keyB := s.isolationTenant(t, "iso_b")

	// Starts in flight (per replica): A holds all its slots.
	limit := s.app.Admission.Limit()
	if limit <= 0 {
		t.Fatal("the suite runs without a starts-in-flight bound")
	}
	var releases []func()
	defer func() {
		for _, r := range releases {
			r()
		}
	}()
	for range limit {
		r, ok := s.app.Admission.Acquire(a)
		if !ok {
			t.Fatalf("slot %d of %d refused", len(releases)+1, limit)
		}
		releases = append(releases, r)
	}
	s.wantBusy(t, a, keyA, body, "A's start with all its slots in flight")
	if r := s.call(t, "POST", "/v1/verifications", keyB, body); r.Status != http.StatusCreated {
		t.Fatalf("B's start while A is at its bound: %d %s", r.Status, r.Body)
	}
	releases[0]()
	if r := s.call(t, "POST", "/v1/verifications", keyA, body); r.Status != http.StatusCreated {
		t.Fatalf("A's start after a slot was freed: %d %s", r.Status, r.Body)
	}

	// Verifications started but not sent (all replicas, in Postgres): U
	// has as many as its bound, stored without workflows, so none is sent.
	u, keyU := s.isolationTenant(t, "iso_u")
	bound := s.app.Config.TenantUnsentStarts
	if bound <= 0 {
		t.Fatal("the suite runs without an unsent-starts bound")
	}
	if bound >= s.app.Share.Bound() {
		t.Fatalf("the unsent bound %d must stay below the share rule's %d to be tested alone", bound, s.app.Share.Bound())
	}
	s.storeUnsent(t, u, bound)
	s.wantBusy(t, u, keyU, body, "U's start with its bound of unsent verifications")
	if r := s.call(t, "POST", "/v1/verifications", keyB, body); r.Status != http.StatusCreated {
		t.Fatalf("B's start while U is at its bound: %d %s", r.Status, r.Body)
	}
}

// storeUnsent stores n pending verifications of tenant without workflows,
// so none is ever sent: n unsent starts. They are deleted when the test
// ends, so that they hold no other test to the share rule.
func (s *stack) storeUnsent(t *testing.T, tenant string, n int) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	ids := make([]string, 0, n)
	t.Cleanup(func() {
		for _, id := range ids {
			if err := s.app.Store.DeleteUnstartedVerification(context.Background(), tenant, id); err != nil {
				t.Error(err)
			}
		}
	})
	for range n {
		id := "vf_" + ulid.Make().String()
		_, _, err := s.app.Store.InsertVerification(t.Context(), store.StartRequest{Verification: store.Verification{
			ID: id, TenantID: tenant, Mode: contract.ModeTest, Kind: contract.KindSignup,
			Status: contract.StatusPending, ChecksLeft: 5, Attempts: []contract.Attempt{}, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
}

// TestTenantShare: the share rule (docs/reliability.md, Isolation). With
// the unsent starts of all tenants above the global bound G, a tenant
// holding at least its max-min fair share is answered 429 with Retry-After
// and nothing is created, while a tenant under its share — one with unsent
// work of its own, and one with none — is admitted. Both heavy tenants stay
// under the per-tenant unsent bound, so only the share rule refuses: with
// it off (VERIFLOW_UNSENT_STARTS_GLOBAL 0) the test fails. The unsent
// starts are stored rows without workflows, and the replica's snapshot is
// refreshed explicitly, so nothing depends on timing.
func TestTenantShare(t *testing.T) {
	s := need(t)
	body := map[string]any{"kind": "signup", "to": map[string]string{"phone": "+15005550000"}, "supersede": false}
	g, perTenant := s.app.Share.Bound(), s.app.Config.TenantUnsentStarts
	if g <= 0 {
		t.Fatal("the suite runs without the share rule")
	}
	// Heavy holds 3/4 of G, light a third of G: together above G. Heavy's
	// share is G − light = 2/3 G (less what other tests left unsent), so
	// heavy is over it and light under it.
	heavyN, lightN := g*3/4, g/3
	if heavyN >= perTenant {
		t.Fatalf("heavy's %d unsent starts must stay under the per-tenant bound %d", heavyN, perTenant)
	}
	heavy, keyHeavy := s.isolationTenant(t, "share_heavy")
	light, keyLight := s.isolationTenant(t, "share_light")
	_, keyIdle := s.isolationTenant(t, "share_idle")
	s.storeUnsent(t, heavy, heavyN)
	s.storeUnsent(t, light, lightN)
	if err := s.app.Share.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}

	s.wantBusy(t, heavy, keyHeavy, body, "the start of a tenant over its share with the machine busy")
	before := s.countVerifications(t, light)
	if r := s.call(t, "POST", "/v1/verifications", keyLight, body); r.Status != http.StatusCreated {
		t.Fatalf("the start of a tenant under its share: %d %s", r.Status, r.Body)
	}
	if after := s.countVerifications(t, light); after != before+1 {
		t.Fatalf("light's admitted start created %d verifications", after-before)
	}
	if r := s.call(t, "POST", "/v1/verifications", keyIdle, body); r.Status != http.StatusCreated {
		t.Fatalf("the start of a tenant with no unsent start: %d %s", r.Status, r.Body)
	}
}
