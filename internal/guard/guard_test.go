package guard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/store"
)

// fakeStore is an in-memory LimitStore: counters never expire, hits are
// all or nothing, RetryAfter is the window.
type fakeStore struct {
	mu    sync.Mutex
	count map[string]int
	err   error
	calls int
}

func newFakeStore() *fakeStore { return &fakeStore{count: map[string]int{}} }

func counterKey(h store.LimitHit) string {
	return fmt.Sprintf("%s\x00%s\x00%v", h.Scope, h.Key, h.Window)
}

func (f *fakeStore) Hit(_ context.Context, hits []store.LimitHit) (store.LimitResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return store.LimitResult{}, f.err
	}
	res := store.LimitResult{Allowed: true}
	pending := map[string]int{}
	for _, h := range hits {
		k := counterKey(h)
		if f.count[k]+pending[k]+h.Cost > h.Max {
			res.Allowed = false
			res.Exceeded = append(res.Exceeded, h.Scope)
			res.RetryAfter = max(res.RetryAfter, h.Window)
			continue
		}
		pending[k] += h.Cost
	}
	if !res.Allowed {
		res.Scope = res.Exceeded[0]
		return res, nil
	}
	for k, n := range pending {
		f.count[k] += n
	}
	return res, nil
}

func (f *fakeStore) Peek(_ context.Context, h store.LimitHit) (int, time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return 0, 0, f.err
	}
	used := f.count[counterKey(h)]
	if used+h.Cost > h.Max {
		return used, h.Window, nil
	}
	return used, 0, nil
}

// startN runs n starts and returns the first refusal (and its index).
func startN(t *testing.T, g *Guard, n int, info func(i int) StartInfo) (int, *Refusal) {
	t.Helper()
	for i := range n {
		r, err := g.AllowStart(t.Context(), info(i))
		if err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
		if r != nil {
			return i, r
		}
	}
	return n, nil
}

// hexHash makes a distinct fake keyed hash.
func hexHash(s string) string { return fmt.Sprintf("%064x", []byte(s)) }

// guardTests run against both stores.
func guardTests(t *testing.T, newStore func(t *testing.T) LimitStore) {
	t.Run("6th start to one phone in 10 min is refused", func(t *testing.T) {
		g := New(newStore(t), nil, nil)
		info := StartInfo{Tenant: "acme", Phone: "+393123456789", PhoneHash: hexHash("p1")}
		i, r := startN(t, g, 10, func(int) StartInfo { return info })
		if i != 5 || r == nil {
			t.Fatalf("refused at start %d (%v), want the 6th", i+1, r)
		}
		if r.Code != CodeRateLimited || r.Field != "to.phone" || r.RetryAfter <= 0 || r.RetryAfter%time.Second != 0 {
			t.Fatalf("refusal %+v", r)
		}
		// Another tenant is independent.
		info.Tenant = "globex"
		if i, r := startN(t, g, 5, func(int) StartInfo { return info }); r != nil {
			t.Fatalf("other tenant refused at start %d: %v", i+1, r)
		}
		// Another number of the first tenant too.
		info = StartInfo{Tenant: "acme", Phone: "+393123456780", PhoneHash: hexHash("p2")}
		if r, err := g.AllowStart(t.Context(), info); r != nil || err != nil {
			t.Fatalf("other number: %v, %v", r, err)
		}
	})

	t.Run("email destination", func(t *testing.T) {
		g := New(newStore(t), nil, nil)
		info := StartInfo{Tenant: "acme", EmailHash: hexHash("e1")}
		i, r := startN(t, g, 10, func(int) StartInfo { return info })
		if i != 5 || r == nil || r.Field != "to.email" || r.Code != CodeRateLimited {
			t.Fatalf("refused at %d: %+v", i+1, r)
		}
	})

	t.Run("per-tenant limit override", func(t *testing.T) {
		g := New(newStore(t), func(tenant string) Policy {
			if tenant == "small" {
				return Policy{Limits: Limits{PerTenantMinute: 3}}
			}
			return DefaultPolicy()
		}, nil)
		i, r := startN(t, g, 10, func(i int) StartInfo {
			return StartInfo{Tenant: "small", EmailHash: hexHash(fmt.Sprint("e", i))}
		})
		if i != 3 || r == nil || r.Code != CodeRateLimited || r.Field != "" || !strings.Contains(r.Detail, "account") {
			t.Fatalf("refused at %d: %+v", i+1, r)
		}
	})

	t.Run("client IP, IPv6 by /64", func(t *testing.T) {
		g := New(newStore(t), nil, nil)
		i, r := startN(t, g, 30, func(i int) StartInfo {
			return StartInfo{Tenant: "acme", EmailHash: hexHash(fmt.Sprint("ip", i)),
				ClientIP: fmt.Sprintf("2001:db8:1:2::%x", i+1)}
		})
		if i != 20 || r == nil || r.Code != CodeRateLimited || !strings.Contains(r.Detail, "IP") {
			t.Fatalf("refused at %d: %+v", i+1, r)
		}
		// Another /64 and an IPv4 client are separate.
		for _, ip := range []string{"2001:db8:1:3::1", "192.0.2.7"} {
			r, err := g.AllowStart(t.Context(), StartInfo{Tenant: "acme", EmailHash: hexHash(ip), ClientIP: ip})
			if r != nil || err != nil {
				t.Fatalf("%s: %v, %v", ip, r, err)
			}
		}
	})

	t.Run("prefix burst is refused with prefix_velocity and logged", func(t *testing.T) {
		var logs bytes.Buffer
		var mu sync.Mutex
		log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
		g := New(newStore(t), nil, log)
		phone := func(i int) string { return fmt.Sprintf("+4479111%05d", i) }
		i, r := startN(t, g, 40, func(i int) StartInfo {
			return StartInfo{Tenant: "acme", Phone: phone(i), PhoneHash: hexHash(phone(i))}
		})
		if i != 30 || r == nil || r.Code != CodePrefixVelocity || r.Field != "to.phone" || r.RetryAfter <= 0 {
			t.Fatalf("refused at %d: %+v", i+1, r)
		}
		mu.Lock()
		out := logs.String()
		mu.Unlock()
		if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "tenant=acme") || !strings.Contains(out, "prefix=+44-791") {
			t.Fatalf("log: %s", out)
		}
		if strings.Contains(out, phone(30)[4:]) || strings.Contains(out, hexHash(phone(30))) {
			t.Fatalf("log leaks the number: %s", out)
		}
		// Another prefix, and another tenant's same prefix, go through.
		for _, info := range []StartInfo{
			{Tenant: "acme", Phone: "+447922100000", PhoneHash: hexHash("other prefix")},
			{Tenant: "globex", Phone: phone(31), PhoneHash: hexHash(phone(31))},
		} {
			if r, err := g.AllowStart(t.Context(), info); r != nil || err != nil {
				t.Fatalf("%+v: %v, %v", info, r, err)
			}
		}
	})

	t.Run("refused starts spend nothing", func(t *testing.T) {
		g := New(newStore(t), func(string) Policy { return Policy{Limits: Limits{PerTenantMinute: 2}} }, nil)
		info := StartInfo{Tenant: "acme", Phone: "+393123456789", PhoneHash: hexHash("p")}
		for range 2 {
			if r, err := g.AllowStart(t.Context(), info); r != nil || err != nil {
				t.Fatal(r, err)
			}
		}
		// Three refused starts to a new number: its budget stays whole.
		other := StartInfo{Tenant: "acme", Phone: "+393123456780", PhoneHash: hexHash("q")}
		for range 3 {
			if r, _ := g.AllowStart(t.Context(), other); r == nil {
				t.Fatal("want refused by the tenant limit")
			}
		}
		g2 := New(g.st, nil, nil) // same store, default policy
		i, r := startN(t, g2, 10, func(int) StartInfo { return other })
		if i != 5 || r == nil || r.Field != "to.phone" {
			t.Fatalf("new number refused at %d (%+v), want the 6th", i+1, r)
		}
	})

	t.Run("cross-tenant cap; sandbox skips it", func(t *testing.T) {
		st := newStore(t)
		g := New(st, nil, nil, WithGlobalPerDestinationDay(3))
		info := func(tenant string, sandbox bool) StartInfo {
			return StartInfo{Tenant: tenant, EmailHash: hexHash("victim"), Sandbox: sandbox}
		}
		for i, tenant := range []string{"a", "b", "c"} {
			if r, err := g.AllowStart(t.Context(), info(tenant, false)); r != nil || err != nil {
				t.Fatalf("start %d: %v, %v", i, r, err)
			}
		}
		r, err := g.AllowStart(t.Context(), info("d", false))
		if err != nil || r == nil || r.Code != CodeRateLimited || r.Field != "to.email" {
			t.Fatalf("4th tenant: %+v, %v", r, err)
		}
		if r, err := g.AllowStart(t.Context(), info("d", true)); r != nil || err != nil {
			t.Fatalf("sandbox start: %v, %v", r, err)
		}
		off := New(st, nil, nil, WithGlobalPerDestinationDay(0))
		if r, err := off.AllowStart(t.Context(), info("e", false)); r != nil || err != nil {
			t.Fatalf("cap disabled: %v, %v", r, err)
		}
	})

	t.Run("failed-check budget is shared across verifications", func(t *testing.T) {
		g := New(newStore(t), nil, nil)
		ctx := t.Context()
		phone, email := hexHash("phone"), hexHash("email")
		// Verification 1 (phone and email) fails 6 checks, verification 2
		// (the same phone only) 4: the phone's 10 are used.
		for range 6 {
			if err := g.SpendFailedCheck(ctx, "acme", []string{phone, email}); err != nil {
				t.Fatal(err)
			}
		}
		for range 4 {
			if r, err := g.CheckBudget(ctx, "acme", []string{phone}); r != nil || err != nil {
				t.Fatalf("budget left: %v, %v", r, err)
			}
			if err := g.SpendFailedCheck(ctx, "acme", []string{phone, phone}); err != nil {
				t.Fatal(err)
			}
		}
		// Verification 3 to the same phone (with a new email) is refused.
		r, err := g.CheckBudget(ctx, "acme", []string{hexHash("new email"), phone})
		if err != nil || r == nil || r.Code != CodeRateLimited || r.RetryAfter <= 0 {
			t.Fatalf("exhausted: %+v, %v", r, err)
		}
		// Spending past the budget is not an error.
		if err := g.SpendFailedCheck(ctx, "acme", []string{phone}); err != nil {
			t.Fatal(err)
		}
		// The email has used 6 only; other tenants are independent.
		if r, err := g.CheckBudget(ctx, "acme", []string{email}); r != nil || err != nil {
			t.Fatalf("email: %v, %v", r, err)
		}
		if r, err := g.CheckBudget(ctx, "globex", []string{phone}); r != nil || err != nil {
			t.Fatalf("other tenant: %v, %v", r, err)
		}
		if r, err := g.CheckBudget(ctx, "acme", nil); r != nil || err != nil {
			t.Fatalf("no destinations: %v, %v", r, err)
		}
	})
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestGuardFakeStore(t *testing.T) {
	guardTests(t, func(*testing.T) LimitStore { return newFakeStore() })
}

func TestAllowStartChecksPhoneFirst(t *testing.T) {
	st := newFakeStore()
	g := New(st, func(string) Policy { return Policy{AllowedCountries: []string{"IT"}} }, nil)
	r, err := g.AllowStart(t.Context(), StartInfo{Tenant: "acme", Phone: "+33612345678", PhoneHash: hexHash("fr")})
	if err != nil || r == nil || r.Code != CodeCountryNotAllowed {
		t.Fatalf("%+v, %v", r, err)
	}
	if st.calls != 0 {
		t.Fatalf("the store was hit %d times for a refused number", st.calls)
	}
}

func TestStoreErrors(t *testing.T) {
	st := newFakeStore()
	st.err = errors.New("db down")
	g := New(st, nil, nil)
	ctx := t.Context()
	if r, err := g.AllowStart(ctx, StartInfo{Tenant: "acme", EmailHash: hexHash("e")}); r != nil || !errors.Is(err, st.err) {
		t.Errorf("AllowStart: %v, %v", r, err)
	}
	if r, err := g.CheckBudget(ctx, "acme", []string{hexHash("e")}); r != nil || !errors.Is(err, st.err) {
		t.Errorf("CheckBudget: %v, %v", r, err)
	}
	if err := g.SpendFailedCheck(ctx, "acme", []string{hexHash("e")}); !errors.Is(err, st.err) {
		t.Errorf("SpendFailedCheck: %v", err)
	}
	if _, err := g.AllowStart(ctx, StartInfo{}); err == nil {
		t.Error("AllowStart without a tenant: want an error")
	}
}

func TestNormIP(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":             "192.0.2.1",
		" 192.0.2.1 ":           "192.0.2.1",
		"::ffff:192.0.2.1":      "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":  "2001:db8:1:2::/64",
		"2001:db8:1:2::9%eth0":  "2001:db8:1:2::/64",
		"not-an-ip":             "not-an-ip",
		"":                      "",
		"2001:db8:1:2:ffff::ff": "2001:db8:1:2::/64",
	} {
		if got := normIP(in); got != want {
			t.Errorf("normIP(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRoundRetry(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		0:                       time.Second,
		time.Millisecond:        time.Second,
		time.Second:             time.Second,
		time.Second + 1:         2 * time.Second,
		599*time.Second + 1e8:   600 * time.Second,
		10 * time.Minute:        10 * time.Minute,
		10*time.Minute + 999e6:  10*time.Minute + time.Second,
		-5 * time.Second:        time.Second,
		2*time.Hour + time.Hour: 3 * time.Hour,
	} {
		if got := roundRetry(in); got != want {
			t.Errorf("roundRetry(%v) = %v, want %v", in, got, want)
		}
	}
}
