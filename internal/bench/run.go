package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"time"
)

// Options configure a run.
type Options struct {
	// Levels are the closed-loop concurrencies (callers in flight).
	Levels []int
	// Duration is the measured window of each phase; Warmup runs first,
	// unmeasured.
	Duration, Warmup time.Duration
	// Think is the wait between start and check (the person reading the
	// code), the same for both targets.
	Think time.Duration
	// LatencyFraction of the bare saturation rate is the open-loop rate
	// at which latencies are judged (the issue says half).
	LatencyFraction float64
	// Pending, when positive, ends the run by opening that many
	// verifications that stay pending and measuring the process's RSS.
	Pending int
	// SkipBare measures Veriflow alone (for profiling; no ratio).
	SkipBare bool
	// WorkflowCache is the worker's sticky cache size, for the report
	// (0: the SDK's default).
	WorkflowCache int
	// Slices splits each closed-loop level into that many alternations of
	// bare and Veriflow (each Duration/Slices long), so a change in the
	// machine's speed during the run hits both alike.
	Slices int
	// Fresh starts a new stack (Starter) for each closed-loop level, the
	// open loop and the pending measurement, each with its own warm-up: a
	// dev server and databases slow down as they age, which would
	// otherwise charge the later phases for the earlier ones. False: one
	// stack serves the whole run.
	Fresh bool
	// Isolate (with Fresh) gives each target of each phase a stack of its
	// own and one window of Duration (Slices is then ignored): nothing
	// the other target left running on the server (visibility and timer
	// tasks, a backlog past its window) is charged to this one, and a
	// window is not cut into slices whose ramp and first burst (shed by
	// Veriflow's admission control with a Retry-After of a second) weigh
	// on the target with the longer cycle. False: the targets alternate
	// on one stack per phase.
	Isolate bool
	// AtEnd, when set, runs last while the last stack still runs (a heap
	// profile of what the pending verifications hold).
	AtEnd func() error
	// Progress receives a line per phase and per stack started.
	Progress io.Writer
}

// Starter starts a stack for Run (StartStack with the run's logger).
type Starter func(ctx context.Context) (*Stack, error)

// stackRun is a stack Run started, the targets that drive it, and the
// index of its first phase in the report.
type stackRun struct {
	s     *Stack
	vf    *veriflowTarget
	bare  *bareTarget
	first int
}

func newStackRun(s *Stack, think time.Duration, first int) *stackRun {
	return &stackRun{s: s, vf: newVeriflowTarget(s, think), first: first,
		bare: &bareTarget{c: s.Bare, seq: sequence(strconv.FormatInt(time.Now().UnixNano(), 36)), wait: think, accepted: s.bareAccepted}}
}

// targets are the targets measured on sr: only the one named (isolated
// runs) or both, bare first (or Veriflow alone with skipBare).
func (sr *stackRun) targets(skipBare bool, only string) []Target {
	switch {
	case only == "veriflow" || skipBare:
		return []Target{sr.vf}
	case only == "bare":
		return []Target{sr.bare}
	}
	return []Target{sr.bare, sr.vf}
}

// close stops the stack and drops the target's idle connections to it.
func (sr *stackRun) close() {
	sr.vf.http.CloseIdleConnections()
	sr.s.Close()
}

// Run measures what start starts under o. With o.Fresh every closed-loop
// level, the open loop and the pending measurement get a stack of their
// own (each warmed up, each closed when the next starts); otherwise one
// stack serves them all. Run closes every stack it starts.
func Run(ctx context.Context, start Starter, o Options) (*Report, error) {
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	r := &Report{Time: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), History: map[string]History{}}
	r.Commit = commit()
	o.Isolate = o.Isolate && o.Fresh
	r.Options.Levels, r.Options.DurationSec, r.Options.ThinkMs, r.Options.LatencyFraction, r.Options.Fresh, r.Options.Isolate =
		o.Levels, o.Duration.Seconds(), float64(o.Think.Milliseconds()), o.LatencyFraction, o.Fresh, o.Isolate

	var cur *stackRun
	defer func() {
		if cur != nil {
			cur.close()
		}
	}()
	// use returns the stack for the phases labelled label: the current one,
	// or with o.Fresh (and at first) a newly started one, warmed up when
	// warm — the previous stack's histories are counted before it stops.
	use := func(label string, warm bool, only string) (*stackRun, error) {
		if cur != nil && !o.Fresh {
			return cur, nil
		}
		if cur != nil {
			if err := recordHistory(ctx, cur.s, r.Phases[cur.first:], r.History); err != nil {
				return nil, err
			}
			cur.close()
			cur = nil
		}
		if !o.Fresh {
			label = "the whole run"
		}
		t0 := time.Now()
		s, err := start(ctx)
		if err != nil {
			return nil, fmt.Errorf("starting the stack for %s: %w", label, err)
		}
		cur = newStackRun(s, o.Think, len(r.Phases))
		ready := time.Since(t0)
		r.Stacks = append(r.Stacks, StackStart{For: label, ReadySec: round(ready.Seconds(), 2), Started: s.Started()})
		fmt.Fprintf(progress, "stack %d for %s: %s — ready in %.1f s\n", len(r.Stacks), label, s.Started(), ready.Seconds())
		if warm && o.Warmup > 0 {
			fmt.Fprintf(progress, "warm-up %s per target…\n", o.Warmup/2)
			for _, t := range cur.targets(o.SkipBare, only) {
				if w := closedLoop(ctx, t, 8, o.Warmup/2); w.errors > 0 {
					return nil, fmt.Errorf("warm-up of %s: %s", t.Name(), w.errorSummary())
				}
			}
		}
		return cur, nil
	}
	// once runs one slice of load on t and returns what it measured; a
	// closed loop's CPU is read when its window ends, before the callers
	// still in flight drain.
	once := func(s *Stack, t Target, mode string, conc int, rate float64, d time.Duration) slice {
		before := readCPU(s)
		t0 := time.Now()
		if mode == "open" {
			out := openLoop(ctx, t, rate, d)
			return slice{out: out, cpu: readCPU(s).sub(before), elapsed: time.Since(t0)}
		}
		at := make(chan cpuTimes, 1)
		timer := time.AfterFunc(d, func() { at <- readCPU(s) })
		defer timer.Stop()
		out := closedLoop(ctx, t, conc, d)
		select {
		case after := <-at:
			return slice{out: out, cpu: after.sub(before), elapsed: d}
		default:
			return slice{out: out, cpu: readCPU(s).sub(before), elapsed: time.Since(t0)}
		}
	}
	// measure runs every target of sr in turn, slices times, each slice a
	// share of o.Duration, so both see the same machine over the same
	// minutes.
	measure := func(sr *stackRun, targets []Target, mode string, conc int, rate float64, slices int) []Phase {
		acc := make([]slice, len(targets))
		for range slices {
			for i, t := range targets {
				acc[i] = acc[i].merge(once(sr.s, t, mode, conc, rate, o.Duration/time.Duration(slices)))
			}
		}
		phases := make([]Phase, len(targets))
		for i, t := range targets {
			isVF := t == Target(sr.vf)
			if isVF && acc[i].out != nil {
				if err := sandboxSends(ctx, sr.s, acc[i].out.samples); err != nil {
					fmt.Fprintf(progress, "time to send not read: %v\n", err)
				}
			}
			p := summarize(t.Name(), mode, conc, rate, acc[i].elapsed, acc[i].out, acc[i].cpu)
			if isVF && len(acc[i].out.samples) > 0 {
				if share, err := earlyChecks(ctx, sr.s, acc[i].out.samples); err == nil {
					p.EarlyChecks = &share
				}
			}
			early := ""
			if p.EarlyChecks != nil {
				early = fmt.Sprintf("  early checks %.0f%%", 100**p.EarlyChecks)
			}
			fmt.Fprintf(progress, "%-8s %-6s conc=%-3d offered=%5.1f/s → %6.1f approved/s  start p99 %6.1f ms  send p99 %6.1f ms  check p99 %6.1f ms  shed %d  cpu %.3f s/verification%s  %s\n",
				p.Target, p.Mode, p.Concurrency, p.OfferedPerSec, p.PerSec, p.Start.P99, p.Send.P99, p.Check.P99, p.Shed, p.CPU.Machine, early, acc[i].out.errorSummary())
			phases[i] = p
		}
		return phases
	}

	// group measures every target under one load: on one stack, in
	// alternating slices, or (Isolate) each on a stack of its own.
	group := func(label, mode string, conc int, rate float64, slices int) error {
		names := []string{""}
		if o.Isolate {
			names = []string{"bare", "veriflow"}
			if o.SkipBare {
				names = []string{"veriflow"}
			}
			slices = 1
		}
		for _, name := range names {
			l := label
			if name != "" {
				l += " " + name
			}
			sr, err := use(l, true, name)
			if err != nil {
				return err
			}
			r.Phases = append(r.Phases, measure(sr, sr.targets(o.SkipBare, name), mode, conc, rate, slices)...)
		}
		return nil
	}
	for _, level := range o.Levels {
		if err := group(fmt.Sprintf("closed %d", level), "closed", level, 0, max(o.Slices, 1)); err != nil {
			return nil, err
		}
	}
	for _, p := range r.Phases {
		if p.Target == "bare" {
			r.BareMax = math.Max(r.BareMax, p.PerSec)
		} else {
			r.VeriflowMax = math.Max(r.VeriflowMax, p.PerSec)
		}
	}
	if r.BareMax > 0 {
		r.Ratio = r.VeriflowMax / r.BareMax
	}
	var latency, bareOpen Phase
	if rate := r.BareMax * o.LatencyFraction; rate > 0 {
		if err := group("open", "open", 0, rate, 1); err != nil {
			return nil, err
		}
		for _, p := range r.Phases {
			switch {
			case p.Mode != "open":
			case p.Target == "veriflow":
				latency = p
			default:
				bareOpen = p
			}
		}
	}
	if cur != nil {
		if err := recordHistory(ctx, cur.s, r.Phases[cur.first:], r.History); err != nil {
			return nil, err
		}
		cur.first = len(r.Phases) // counted: not again when it stops
	}
	if o.Pending > 0 {
		sr, err := use("pending", false, "")
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "opening %d pending verifications…\n", o.Pending)
		pend, err := openPending(ctx, sr.s, o.Pending, progress)
		if pend != nil {
			pend.WorkflowCache = cmp.Or(o.WorkflowCache, 10000)
		}
		if err != nil {
			return nil, err
		}
		r.Pending = pend
	}
	r.Goals = goals(r, latency, bareOpen)
	if o.AtEnd != nil {
		if err := o.AtEnd(); err != nil {
			return nil, err
		}
	}
	return r, nil
}
