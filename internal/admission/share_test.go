package admission

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLevel: the max-min fair share (water level) of a bound.
func TestLevel(t *testing.T) {
	for _, c := range []struct {
		bound  int
		counts []int
		want   float64
	}{
		{16, []int{16}, 16},      // one tenant alone gets the whole bound
		{16, []int{1, 16}, 15},   // a small tenant leaves the rest to the big one
		{16, []int{20, 20}, 8},   // two floods split it evenly
		{100, []int{40, 60}, 60}, // the smaller one is under its share
		{20, []int{10, 10, 10}, 20.0 / 3},
		{10, []int{0, 0, 30}, 10},      // tenants with nothing take nothing
		{16, []int{3, 4}, math.Inf(1)}, // under the bound nobody is cut
		{16, nil, math.Inf(1)},
		{0, []int{100}, math.Inf(1)}, // no bound
	} {
		if got := Level(c.bound, c.counts); got != c.want {
			t.Errorf("Level(%d, %v) = %v, want %v", c.bound, c.counts, got, c.want)
		}
	}
}

// TestRefuse: refused only when the total reaches the bound and the tenant
// holds at least its share; a tenant under its share is admitted.
func TestRefuse(t *testing.T) {
	for _, c := range []struct {
		bound  int
		counts map[string]int
		tenant string
		want   bool
	}{
		{16, map[string]int{"a": 16}, "a", true},
		{16, map[string]int{"a": 15}, "a", false},         // machine not busy
		{16, map[string]int{"a": 16}, "b", false},         // b holds nothing
		{16, map[string]int{"a": 30, "b": 1}, "b", false}, // b under its share (15)
		{16, map[string]int{"a": 30, "b": 1}, "a", true},
		{100, map[string]int{"a": 60, "b": 40}, "a", true},  // a at its share (60)
		{100, map[string]int{"a": 60, "b": 40}, "b", false}, // b under it
		{100, map[string]int{"a": 50, "b": 50}, "b", true},  // both at 50
		{0, map[string]int{"a": 1000}, "a", false},          // rule off
		{-1, map[string]int{"a": 1000}, "a", false},
	} {
		if got := Refuse(c.bound, c.counts, c.tenant); got != c.want {
			t.Errorf("Refuse(%d, %v, %q) = %v, want %v", c.bound, c.counts, c.tenant, got, c.want)
		}
	}
}

// counter is a fake store: fixed counts, counted reads, optional failure.
type counter struct {
	mu     sync.Mutex
	counts map[string]int
	reads  atomic.Int32
	err    error
}

func (c *counter) UnsentByTenant(context.Context, time.Time) (map[string]int, error) {
	c.reads.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	out := map[string]int{}
	for k, v := range c.counts {
		out[k] = v
	}
	return out, nil
}

// TestShareAdmit: with the snapshot at the bound, the tenant over its
// share is refused and one under it admitted; starts admitted between
// refreshes count, so a flood is held before the next read; a refresh
// reads the store again.
func TestShareAdmit(t *testing.T) {
	ctx := context.Background()
	c := &counter{counts: map[string]int{"a": 10}}
	s := NewShare(c, 10, time.Minute, time.Hour)
	if ok, err := s.Admit(ctx, "a"); err != nil || ok {
		t.Fatalf("a at the bound alone: admitted %v, %v", ok, err)
	}
	for i := range 5 { // b is under its share (5) until it holds 5
		if ok, err := s.Admit(ctx, "b"); err != nil || !ok {
			t.Fatalf("b's start %d refused (%v)", i+1, err)
		}
	}
	if ok, _ := s.Admit(ctx, "b"); ok {
		t.Fatal("b admitted beyond its share from starts counted since the snapshot")
	}
	if n := c.reads.Load(); n != 1 {
		t.Fatalf("%d reads within the refresh interval, want 1", n)
	}
	c.mu.Lock()
	c.counts = map[string]int{"a": 3}
	c.mu.Unlock()
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Admit(ctx, "a"); !ok {
		t.Fatal("a refused after its unsent starts were sent")
	}
}

// TestShareRefreshInterval: a stale snapshot is read again.
func TestShareRefreshInterval(t *testing.T) {
	c := &counter{counts: map[string]int{}}
	s := NewShare(c, 10, time.Minute, time.Nanosecond)
	for range 3 {
		if ok, err := s.Admit(context.Background(), "a"); err != nil || !ok {
			t.Fatalf("refused: %v", err)
		}
	}
	if n := c.reads.Load(); n != 3 {
		t.Fatalf("%d reads with an elapsed interval each time, want 3", n)
	}
}

// TestShareError: a store that cannot be read is an error, not a refusal
// or an admission.
func TestShareError(t *testing.T) {
	boom := errors.New("boom")
	s := NewShare(&counter{err: boom}, 10, time.Minute, time.Hour)
	if _, err := s.Admit(context.Background(), "a"); !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
}

// TestShareOff: bound 0 and a nil Share admit everything and read nothing.
func TestShareOff(t *testing.T) {
	c := &counter{counts: map[string]int{"a": 1000}}
	for _, s := range []*Share{NewShare(c, 0, time.Minute, 0), nil} {
		if ok, err := s.Admit(context.Background(), "a"); err != nil || !ok {
			t.Fatalf("share %v refused (%v)", s, err)
		}
	}
	if c.reads.Load() != 0 {
		t.Fatal("an off rule read the store")
	}
}

// TestShareConcurrent: concurrent starts of one flooding tenant admit at
// most the bound between refreshes.
func TestShareConcurrent(t *testing.T) {
	s := NewShare(&counter{counts: map[string]int{}}, 20, time.Minute, time.Hour)
	var admitted atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				if ok, err := s.Admit(context.Background(), "a"); err == nil && ok {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := admitted.Load(); n != 20 {
		t.Fatalf("%d admitted, want the bound 20", n)
	}
}
