package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/veriflow/veriflow/internal/contract"
)

// recordHistory counts, on s, the history of the last verification of each
// target among phases (those s served) into h, replacing an earlier
// stack's count.
func recordHistory(ctx context.Context, s *Stack, phases []Phase, h map[string]History) error {
	seen := map[string]bool{}
	for _, p := range slices.Backward(phases) {
		if seen[p.Target] || p.lastID == "" {
			continue
		}
		seen[p.Target] = true
		c := s.Bare
		if p.Target == "veriflow" {
			c = s.Veriflow
		}
		got, err := countHistory(ctx, c, workflowID(p.Target, p.lastID))
		if err != nil {
			return fmt.Errorf("history of %s: %w", p.lastID, err)
		}
		h[p.Target] = got
	}
	return nil
}

func workflowID(target, id string) string {
	if target == "veriflow" {
		return contract.WorkflowID(id)
	}
	return id
}

func summarize(target, mode string, conc int, rate float64, elapsed time.Duration, o *outcome, used cpuTimes) Phase {
	p := Phase{Target: target, Mode: mode, Concurrency: conc, OfferedPerSec: rate, Seconds: elapsed.Seconds(),
		Approved: len(o.samples), Errors: o.errors, ErrorSample: o.firstErr}
	if p.Approved == 0 {
		return p
	}
	p.PerSec = float64(p.Approved) / p.Seconds
	starts := make([]time.Duration, len(o.samples))
	checks := make([]time.Duration, len(o.samples))
	var sends []time.Duration
	for i, s := range o.samples {
		starts[i], checks[i] = s.Start, s.Check
		if s.Send > 0 {
			sends = append(sends, s.Send)
		}
	}
	p.Start, p.Check = Percentiles(starts), Percentiles(checks)
	if len(sends) > 0 {
		p.Send = Percentiles(sends)
	}
	p.Shed = o.shed
	n := float64(p.Approved)
	p.CPU = CPU{Machine: used.Machine / n, Bench: used.Bench / n, Temporal: used.Temporal / n, Postgres: used.Postgres / n}
	p.lastID = o.samples[len(o.samples)-1].ID
	return p
}

// Percentiles sorts d and returns its p50, p95, p99 and maximum in
// milliseconds (nearest rank); zero for no samples.
func Percentiles(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(d)))) - 1
		return float64(d[max(i, 0)].Microseconds()) / 1000
	}
	return Latency{P50: at(.50), P95: at(.95), P99: at(.99), Max: at(1)}
}

// earlyChecks reads the audit trail of up to 100 of the samples and returns
// the share approved before their code was delivered.
func earlyChecks(ctx context.Context, s *Stack, samples []Sample) (float64, error) {
	step := max(len(samples)/100, 1)
	n, early := 0, 0
	for i := 0; i < len(samples); i += step {
		events, err := s.store.Events(ctx, samples[i].ID)
		if err != nil {
			return 0, err
		}
		n++
		for _, e := range events {
			if e.Type == string(contract.EventDelivered) {
				break
			}
			if e.Type == string(contract.EventApproved) {
				early++
				break
			}
		}
	}
	return float64(early) / float64(n), nil
}

// sandboxSends fills in the time to send of Veriflow's samples: from the
// start request to the sandbox's storing the message (its created_at, on
// the database's clock — the same machine's).
func sandboxSends(ctx context.Context, s *Stack, samples []Sample) error {
	const batch = 5000
	for from := 0; from < len(samples); from += batch {
		part := samples[from:min(from+batch, len(samples))]
		ids := make([]string, len(part))
		for i, x := range part {
			ids[i] = x.ID
		}
		at, err := s.store.SandboxFirstAccepted(ctx, ids)
		if err != nil {
			return err
		}
		for i := range part {
			if t, ok := at[part[i].ID]; ok {
				part[i].Send = t.Sub(part[i].Began)
			}
		}
	}
	return nil
}

// slice is what one slice of load measured.
type slice struct {
	out     *outcome
	cpu     cpuTimes
	elapsed time.Duration
}

// merge adds b to a.
func (a slice) merge(b slice) slice {
	if a.out == nil {
		return b
	}
	out := &outcome{samples: append(a.out.samples, b.out.samples...), errors: a.out.errors + b.out.errors,
		firstErr: append(a.out.firstErr, b.out.firstErr...), late: a.out.late + b.out.late, shed: a.out.shed + b.out.shed}
	if len(out.firstErr) > 3 {
		out.firstErr = out.firstErr[:3]
	}
	return slice{out: out, cpu: a.cpu.add(b.cpu), elapsed: a.elapsed + b.elapsed}
}

// countHistory counts a workflow's history events by kind.
func countHistory(ctx context.Context, c client.Client, id string) (History, error) {
	var h History
	it := c.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return h, err
		}
		h.Events++
		h.Sequence = append(h.Sequence, strings.TrimPrefix(e.GetEventType().String(), "EventType"))
		switch e.GetEventType() {
		case enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			h.WorkflowTasks++
		case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			h.Activities++
		case enums.EVENT_TYPE_MARKER_RECORDED:
			h.LocalMarkers++
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			h.Signals++
		}
	}
	return h, nil
}
