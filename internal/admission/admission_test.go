package admission

import (
	"sync"
	"testing"
)

// TestLimiterPerTenant: a tenant holding all its slots is refused while
// another tenant is admitted; a released slot admits again, once.
func TestLimiterPerTenant(t *testing.T) {
	l := New(2)
	relA1, ok1 := l.Acquire("a")
	_, ok2 := l.Acquire("a")
	if !ok1 || !ok2 {
		t.Fatal("the first two starts of a were refused")
	}
	if _, ok := l.Acquire("a"); ok {
		t.Fatal("a's third start in flight was admitted with a limit of 2")
	}
	relB, ok := l.Acquire("b")
	if !ok {
		t.Fatal("b was refused for a's load")
	}
	relB()
	relA1()
	relA1() // a second call gives back nothing more
	if got := l.InFlight("a"); got != 1 {
		t.Fatalf("a in flight %d after one release, want 1", got)
	}
	if _, ok := l.Acquire("a"); !ok {
		t.Fatal("a refused after releasing a slot")
	}
	if _, ok := l.Acquire("a"); ok {
		t.Fatal("a admitted beyond its limit after a double release")
	}
}

// TestLimiterOff: limit 0 and a nil Limiter admit everything.
func TestLimiterOff(t *testing.T) {
	for _, l := range []*Limiter{New(0), nil} {
		for range 100 {
			if _, ok := l.Acquire("a"); !ok {
				t.Fatalf("limiter %v refused", l)
			}
		}
	}
}

// TestLimiterConcurrent: under concurrent acquire/release the bound holds
// and every slot comes back.
func TestLimiterConcurrent(t *testing.T) {
	l := New(3)
	var mu sync.Mutex
	peak, cur := 0, 0
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 200 {
				rel, ok := l.Acquire("a")
				if !ok {
					continue
				}
				mu.Lock()
				cur++
				peak = max(peak, cur)
				mu.Unlock()
				mu.Lock()
				cur--
				mu.Unlock()
				rel()
			}
		})
	}
	wg.Wait()
	if peak > 3 || l.InFlight("a") != 0 {
		t.Fatalf("peak %d (limit 3), %d still held", peak, l.InFlight("a"))
	}
}
