package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"time"
)

// openPending opens n verifications that stay pending and samples the
// RSS of this process (Veriflow's API and worker, and the generator).
func openPending(ctx context.Context, s *Stack, n int, progress io.Writer) (*Pending, error) {
	t := newVeriflowTarget(s, 0)
	t.pending = true
	p := &Pending{}
	var err error
	if p.StartRSS, err = rssMiB("self"); err != nil {
		return nil, err
	}
	t0 := time.Now()
	step := max(n/10, 1)
	for opened := 0; opened < n; {
		batch := min(step, n-opened)
		out := closedLoopCount(ctx, t, 32, batch)
		if out.errors > 0 {
			return nil, fmt.Errorf("pending: %s", out.errorSummary())
		}
		opened += batch
		rss, err := rssMiB("self")
		if err != nil {
			return nil, err
		}
		p.RSSMiB = append(p.RSSMiB, rss)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		p.HeapMiB = append(p.HeapMiB, float64(ms.HeapInuse)/(1<<20))
		p.PeakRSSMiB = math.Max(p.PeakRSSMiB, rss)
		fmt.Fprintf(progress, "  %d pending, RSS %.0f MiB, Go heap in use %.0f MiB (%.0f s)\n", opened, rss, p.HeapMiB[len(p.HeapMiB)-1], time.Since(t0).Seconds())
	}
	p.Opened, p.Seconds = n, time.Since(t0).Seconds()
	return p, nil
}

// closedLoopCount runs exactly n verifications with concurrency callers.
func closedLoopCount(ctx context.Context, t Target, concurrency, n int) *outcome {
	o := &outcome{deadline: time.Now().Add(24 * time.Hour)}
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	done := make(chan struct{})
	for range concurrency {
		go func() {
			defer func() { done <- struct{}{} }()
			for range jobs {
				s, err := t.Verify(ctx)
				o.add(s, err, time.Now())
			}
		}()
	}
	for range concurrency {
		<-done
	}
	return o
}
