package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/veriflow/veriflow/internal/contract"
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
	// Progress receives a line per phase.
	Progress io.Writer
}

// Latency are percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// CPU is CPU seconds per approved verification.
type CPU struct {
	Machine  float64 `json:"machine"`
	Bench    float64 `json:"bench_process"`
	Temporal float64 `json:"temporal"`
	Postgres float64 `json:"postgres"`
}

// Phase is one measured load.
type Phase struct {
	Target        string   `json:"target"`
	Mode          string   `json:"mode"` // closed or open loop
	Concurrency   int      `json:"concurrency,omitempty"`
	OfferedPerSec float64  `json:"offered_per_sec,omitempty"`
	Seconds       float64  `json:"seconds"`
	Approved      int      `json:"approved"`
	Errors        int      `json:"errors"`
	ErrorSample   []string `json:"error_sample,omitempty"`
	PerSec        float64  `json:"per_sec"`
	Start         Latency  `json:"start"`
	Check         Latency  `json:"check"`
	CPU           CPU      `json:"cpu_seconds_per_verification"`
	// EarlyChecks is the share of a sample of approvals whose check reached
	// the workflow before the delivery receipt (the think time was shorter
	// than the time to deliver).
	EarlyChecks *float64 `json:"early_checks,omitempty"`

	lastID string
}

// History counts one verification's Temporal history.
type History struct {
	Events        int `json:"events"`
	WorkflowTasks int `json:"workflow_tasks"`
	Activities    int `json:"activities"`
	LocalMarkers  int `json:"markers"`
	Signals       int `json:"signals"`
	// Sequence lists the event types in order (EVENT_TYPE_ dropped).
	Sequence []string `json:"sequence"`
}

// Pending is the memory held by open verifications.
type Pending struct {
	Opened        int       `json:"opened"`
	WorkflowCache int       `json:"workflow_cache"`
	HeapMiB       []float64 `json:"heap_inuse_mib"` // after each tenth
	Seconds       float64   `json:"seconds"`
	RSSMiB        []float64 `json:"rss_mib"` // after each tenth
	StartRSS      float64   `json:"start_rss_mib"`
	PeakRSSMiB    float64   `json:"peak_rss_mib"`
}

// Report is a run's result, printed as a table and written as JSON.
type Report struct {
	Commit    string    `json:"commit"`
	Time      time.Time `json:"time"`
	GoVersion string    `json:"go_version"`
	CPUs      int       `json:"cpus"`
	Options   struct {
		Levels          []int   `json:"levels"`
		DurationSec     float64 `json:"duration_sec"`
		ThinkMs         float64 `json:"think_ms"`
		LatencyFraction float64 `json:"latency_fraction"`
	} `json:"options"`
	Phases []Phase `json:"phases"`
	// BareMax and VeriflowMax are the best closed-loop throughputs;
	// Ratio is VeriflowMax / BareMax.
	BareMax     float64            `json:"bare_max_per_sec"`
	VeriflowMax float64            `json:"veriflow_max_per_sec"`
	Ratio       float64            `json:"ratio"`
	History     map[string]History `json:"history"`
	Pending     *Pending           `json:"pending,omitempty"`
	Goals       []Goal             `json:"targets"`
}

// Goal is one of the targets and whether this run met it.
type Goal struct {
	Name  string  `json:"name"`
	Want  string  `json:"want"`
	Got   float64 `json:"got"`
	Unit  string  `json:"unit"`
	Met   bool    `json:"met"`
	Notes string  `json:"notes,omitempty"`
}

// Run measures s under o.
func Run(ctx context.Context, s *Stack, o Options) (*Report, error) {
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	r := &Report{Time: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), History: map[string]History{}}
	r.Commit = commit()
	r.Options.Levels, r.Options.DurationSec, r.Options.ThinkMs, r.Options.LatencyFraction =
		o.Levels, o.Duration.Seconds(), float64(o.Think.Milliseconds()), o.LatencyFraction
	vf := newVeriflowTarget(s, o.Think)
	bare := &bareTarget{c: s.Bare, seq: sequence(strconv.FormatInt(time.Now().UnixNano(), 36)), wait: o.Think}

	if o.Warmup > 0 && len(o.Levels) > 0 {
		fmt.Fprintf(progress, "warm-up %s…\n", o.Warmup)
		for _, t := range []Target{bare, vf} {
			if w := closedLoop(ctx, t, 8, o.Warmup/2); w.errors > 0 {
				return nil, fmt.Errorf("warm-up of %s: %s", t.Name(), w.errorSummary())
			}
		}
	}
	// once runs one slice of load on t and returns what it measured; a
	// closed loop's CPU is read when its window ends, before the callers
	// still in flight drain.
	once := func(t Target, mode string, conc int, rate float64, d time.Duration) slice {
		before := readCPU(s.TemporalPID, s.PostgresPID)
		t0 := time.Now()
		if mode == "open" {
			out := openLoop(ctx, t, rate, d)
			return slice{out: out, cpu: readCPU(s.TemporalPID, s.PostgresPID).sub(before), elapsed: time.Since(t0)}
		}
		at := make(chan cpuTimes, 1)
		timer := time.AfterFunc(d, func() { at <- readCPU(s.TemporalPID, s.PostgresPID) })
		defer timer.Stop()
		out := closedLoop(ctx, t, conc, d)
		select {
		case after := <-at:
			return slice{out: out, cpu: after.sub(before), elapsed: d}
		default:
			return slice{out: out, cpu: readCPU(s.TemporalPID, s.PostgresPID).sub(before), elapsed: time.Since(t0)}
		}
	}
	// measure runs every target in turn, slices times, each slice a share
	// of o.Duration, so both see the same machine over the same minutes.
	measure := func(targets []Target, mode string, conc int, rate float64, slices int) []Phase {
		acc := make([]slice, len(targets))
		for range slices {
			for i, t := range targets {
				acc[i] = acc[i].merge(once(t, mode, conc, rate, o.Duration/time.Duration(slices)))
			}
		}
		phases := make([]Phase, len(targets))
		for i, t := range targets {
			p := summarize(t.Name(), mode, conc, rate, acc[i].elapsed, acc[i].out, acc[i].cpu)
			if t == Target(vf) && len(acc[i].out.samples) > 0 {
				if share, err := earlyChecks(ctx, s, acc[i].out.samples); err == nil {
					p.EarlyChecks = &share
				}
			}
			early := ""
			if p.EarlyChecks != nil {
				early = fmt.Sprintf("  early checks %.0f%%", 100**p.EarlyChecks)
			}
			fmt.Fprintf(progress, "%-8s %-6s conc=%-3d offered=%5.1f/s → %6.1f approved/s  start p99 %6.1f ms  check p99 %6.1f ms  cpu %.3f s/verification%s  %s\n",
				p.Target, p.Mode, p.Concurrency, p.OfferedPerSec, p.PerSec, p.Start.P99, p.Check.P99, p.CPU.Machine, early, acc[i].out.errorSummary())
			phases[i] = p
		}
		return phases
	}

	both := []Target{bare, vf}
	if o.SkipBare {
		both = []Target{vf}
	}
	for _, level := range o.Levels {
		for _, p := range measure(both, "closed", level, 0, max(o.Slices, 1)) {
			r.Phases = append(r.Phases, p)
			if p.Target == "bare" {
				r.BareMax = math.Max(r.BareMax, p.PerSec)
			} else {
				r.VeriflowMax = math.Max(r.VeriflowMax, p.PerSec)
			}
		}
	}
	if r.BareMax > 0 {
		r.Ratio = r.VeriflowMax / r.BareMax
	}
	var latency Phase
	if rate := r.BareMax * o.LatencyFraction; rate > 0 {
		for _, p := range measure(both, "open", 0, rate, 1) {
			r.Phases = append(r.Phases, p)
			if p.Target == "veriflow" {
				latency = p
			}
		}
	}
	for _, p := range slices.Backward(r.Phases) {
		if _, ok := r.History[p.Target]; !ok && p.lastID != "" {
			c := s.Bare
			if p.Target == "veriflow" {
				c = s.Veriflow
			}
			h, err := countHistory(ctx, c, workflowID(p.Target, p.lastID))
			if err != nil {
				return nil, fmt.Errorf("history of %s: %w", p.lastID, err)
			}
			r.History[p.Target] = h
		}
	}
	if o.Pending > 0 {
		fmt.Fprintf(progress, "opening %d pending verifications…\n", o.Pending)
		pend, err := openPending(ctx, s, o.Pending, progress)
		if pend != nil {
			pend.WorkflowCache = cmp.Or(o.WorkflowCache, 10000)
		}
		if err != nil {
			return nil, err
		}
		r.Pending = pend
	}
	r.Goals = goals(r, latency)
	return r, nil
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
	for i, s := range o.samples {
		starts[i], checks[i] = s.Start, s.Check
	}
	p.Start, p.Check = percentiles(starts), percentiles(checks)
	n := float64(p.Approved)
	p.CPU = CPU{Machine: used.Machine / n, Bench: used.Bench / n, Temporal: used.Temporal / n, Postgres: used.Postgres / n}
	p.lastID = o.samples[len(o.samples)-1].ID
	return p
}

func percentiles(d []time.Duration) Latency {
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
		firstErr: append(a.out.firstErr, b.out.firstErr...), late: a.out.late + b.out.late}
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

func goals(r *Report, latency Phase) []Goal {
	var out []Goal
	if r.BareMax > 0 {
		out = append(out, Goal{Name: "throughput vs bare", Want: "≥ 0.80", Got: round(r.Ratio, 3), Unit: "ratio", Met: r.Ratio >= 0.8})
	}
	if latency.Approved > 0 {
		out = append(out,
			Goal{Name: "start p99 at half bare saturation", Want: "≤ 100", Got: latency.Start.P99, Unit: "ms", Met: latency.Start.P99 <= 100,
				Notes: fmt.Sprintf("open loop at %.1f/s", latency.OfferedPerSec)},
			Goal{Name: "check p99 at half bare saturation", Want: "≤ 150", Got: latency.Check.P99, Unit: "ms", Met: latency.Check.P99 <= 150,
				Notes: fmt.Sprintf("open loop at %.1f/s", latency.OfferedPerSec)})
	}
	if r.Pending != nil {
		out = append(out, Goal{Name: "RSS holding pending verifications", Want: "≤ 1024", Got: round(r.Pending.PeakRSSMiB, 0), Unit: "MiB",
			Met: r.Pending.PeakRSSMiB <= 1024, Notes: fmt.Sprintf("%d pending; API, worker and generator in one process", r.Pending.Opened)})
	}
	return out
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// commit is the VCS revision stamped into the binary, if any.
func commit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && rev != "" {
		rev += "+dirty"
	}
	return rev
}

// Print writes the report as tables.
func (r *Report) Print(w io.Writer) error {
	if len(r.Phases) > 0 {
		if err := r.printPhases(w); err != nil {
			return err
		}
	}
	if r.Pending != nil {
		fmt.Fprintf(w, "pending: %d opened in %.0f s (workflow cache %d); RSS %.0f → %.0f MiB (peak); RSS by tenth: %.0f\n",
			r.Pending.Opened, r.Pending.Seconds, r.Pending.WorkflowCache, r.Pending.StartRSS, r.Pending.PeakRSSMiB, r.Pending.RSSMiB)
	}
	fmt.Fprintln(w, "\ntargets:")
	for _, t := range r.Goals {
		mark := "MISSED"
		if t.Met {
			mark = "met"
		}
		fmt.Fprintf(w, "  %-36s want %-7s got %8.3f %-5s %-6s %s\n", t.Name, t.Want, t.Got, t.Unit, mark, t.Notes)
	}
	return nil
}

func (r *Report) printPhases(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tload\tapproved/s\tstart p50\tp95\tp99\tcheck p50\tp95\tp99\tcpu s/verif\ttemporal\tpostgres\tbench proc\tearly checks\terrors\t")
	for _, p := range r.Phases {
		load := fmt.Sprintf("closed %d", p.Concurrency)
		if p.Mode == "open" {
			load = fmt.Sprintf("open %.1f/s", p.OfferedPerSec)
		}
		early := "-"
		if p.EarlyChecks != nil {
			early = fmt.Sprintf("%.0f%%", 100**p.EarlyChecks)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.4f\t%.4f\t%.4f\t%.4f\t%s\t%d\t\n",
			p.Target, load, p.PerSec, p.Start.P50, p.Start.P95, p.Start.P99, p.Check.P50, p.Check.P95, p.Check.P99,
			p.CPU.Machine, p.CPU.Temporal, p.CPU.Postgres, p.CPU.Bench, early, p.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nhistory per verification: ")
	for _, k := range []string{"veriflow", "bare"} {
		if h, ok := r.History[k]; ok {
			fmt.Fprintf(w, "%s %d events, %d workflow tasks, %d activities, %d markers, %d signals; ", k, h.Events, h.WorkflowTasks, h.Activities, h.LocalMarkers, h.Signals)
		}
	}
	fmt.Fprintf(w, "\nbest throughput: veriflow %.1f/s, bare %.1f/s — ratio veriflow/bare %.2f\n", r.VeriflowMax, r.BareMax, r.Ratio)
	return nil
}
