package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Sample is one verification's latencies as the caller saw them.
type Sample struct {
	ID           string
	Start, Check time.Duration
	// Began is when the caller sent the start request; Send is the time
	// from then to the provider's accepting the code (0: not known yet).
	Began time.Time
	Send  time.Duration
	// Shed counts the answers 429/503 with Retry-After that the caller
	// honoured (waited, then asked again) during this verification.
	Shed int
}

// Target runs one verification, start to approval.
type Target interface {
	Name() string
	Verify(ctx context.Context) (Sample, error)
}

// think waits d — the person reading the code — or until ctx ends.
func think(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sequence returns unique ids for one run.
func sequence(prefix string) func() string {
	var n atomic.Int64
	return func() string { return prefix + "-" + strconv.FormatInt(n.Add(1), 10) }
}

// outcome collects a phase's samples.
type outcome struct {
	mu       sync.Mutex
	samples  []Sample
	errors   int
	firstErr []string
	deadline time.Time
	late     int // finished after the measured window
	shed     int // 429/503 answers honoured (Retry-After), in every verification
}

func (o *outcome) add(s Sample, err error, end time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.shed += s.Shed
	switch {
	case err != nil:
		o.errors++
		if len(o.firstErr) < 3 {
			o.firstErr = append(o.firstErr, err.Error())
		}
	case end.After(o.deadline):
		o.late++
	default:
		o.samples = append(o.samples, s)
	}
}

// closedLoop runs concurrency callers, each starting its next verification
// when the last one is approved, for d; only verifications approved within
// the window count.
func closedLoop(ctx context.Context, t Target, concurrency int, d time.Duration) *outcome {
	o := &outcome{deadline: time.Now().Add(d)}
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for time.Now().Before(o.deadline) && ctx.Err() == nil {
				s, err := t.Verify(ctx)
				o.add(s, err, time.Now())
			}
		})
	}
	wg.Wait()
	return o
}

// openLoop starts verifications at a fixed rate for d, whatever the
// latency — the traffic of many independent users.
func openLoop(ctx context.Context, t Target, perSecond float64, d time.Duration) *outcome {
	// Stragglers still count: the window is the arrivals', and the phase
	// waits for every verification it started.
	o := &outcome{deadline: time.Now().Add(time.Hour)}
	interval := time.Duration(float64(time.Second) / perSecond)
	start := time.Now()
	n := int(d.Seconds() * perSecond)
	var wg sync.WaitGroup
	for i := range n {
		if err := think(ctx, time.Until(start.Add(time.Duration(i)*interval))); err != nil {
			break
		}
		wg.Go(func() {
			s, err := t.Verify(ctx)
			o.add(s, err, time.Now())
		})
	}
	wg.Wait()
	return o
}

// errorSummary describes a phase's failures, if any.
func (o *outcome) errorSummary() string {
	if o.errors == 0 {
		return ""
	}
	return fmt.Sprintf("%d errors, e.g. %v", o.errors, o.firstErr)
}
