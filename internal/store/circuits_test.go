package store

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCircuitLifecycle: a closed circuit opens at the Nth consecutive
// failure (a success resets the count, an old failure starts it again),
// lets exactly one of many concurrent callers probe once the cool-down is
// over, reopens on a failed probe and closes on a good one.
func TestCircuitLifecycle(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	p := CircuitPolicy{Failures: 3, Window: time.Minute, Cooldown: 300 * time.Millisecond, Probe: 5 * time.Second}
	allow := func() CircuitVerdict {
		t.Helper()
		v, err := s.CircuitAllow(ctx, "meta", p)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	fail := func() (CircuitState, bool) {
		t.Helper()
		st, opened, err := s.CircuitFailure(ctx, "meta", p)
		if err != nil {
			t.Fatal(err)
		}
		return st, opened
	}
	if v := allow(); !v.Allowed || v.State != CircuitClosed {
		t.Fatalf("no row: %+v", v)
	}
	fail()
	fail()
	if _, err := s.CircuitSuccess(ctx, "meta"); err != nil {
		t.Fatal(err)
	}
	fail()
	if st, opened := fail(); st != CircuitClosed || opened {
		t.Fatalf("2 failures after a success: %s %v", st, opened)
	}
	if st, opened := fail(); st != CircuitOpen || !opened {
		t.Fatalf("3rd consecutive failure: %s %v", st, opened)
	}
	if st, opened := fail(); st != CircuitOpen || opened {
		t.Fatalf("failure while open: %s %v (opened again)", st, opened)
	}
	if v := allow(); v.Allowed || v.State != CircuitOpen || v.Wait <= 0 {
		t.Fatalf("open: %+v", v)
	}
	// Cool-down over: 20 concurrent callers, one probe.
	var probes atomic.Int64
	waitFor(t, 5*time.Second, "cool-down", func() bool {
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if v, err := s.CircuitAllow(ctx, "meta", p); err == nil && v.Allowed {
					if !v.Probe {
						t.Errorf("allowed while not closed without probing: %+v", v)
					}
					probes.Add(1)
				}
			}()
		}
		wg.Wait()
		return probes.Load() > 0
	})
	if probes.Load() != 1 {
		t.Fatalf("%d probes, want 1", probes.Load())
	}
	if st, opened := fail(); st != CircuitOpen || !opened {
		t.Fatalf("failed probe: %s %v", st, opened)
	}
	waitFor(t, 5*time.Second, "second probe", func() bool { return allow().Probe })
	if _, err := s.CircuitSuccess(ctx, "meta"); err != nil {
		t.Fatal(err)
	}
	if v := allow(); !v.Allowed || v.State != CircuitClosed {
		t.Fatalf("after a good probe: %+v", v)
	}
	states, err := s.CircuitStates(ctx)
	if err != nil || states["meta"] != CircuitClosed {
		t.Fatalf("states %v, %v", states, err)
	}
}

// TestReserveSendSpacing: slots are spaced 1/rate apart and a queue longer
// than maxQueue is refused with the wait.
func TestReserveSendSpacing(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	var last time.Duration
	for i := range 10 {
		slot, err := s.ReserveSend(ctx, "meta", "123", 100*time.Millisecond, 500*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if i <= 5 {
			if !slot.Reserved || (i > 0 && slot.Delay-last < 80*time.Millisecond) {
				t.Fatalf("slot %d: %+v (previous delay %v)", i, slot, last)
			}
			last = slot.Delay
			continue
		}
		if slot.Reserved || slot.RetryAfter <= 0 {
			t.Fatalf("slot %d past the queue bound: %+v", i, slot)
		}
	}
}
