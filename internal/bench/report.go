package bench

import (
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"text/tabwriter"
	"time"
)

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
	// Send is the time from the start request to the provider's accepting
	// the code (Veriflow: the sandbox storing it; bare: its send activity
	// running).
	Send Latency `json:"time_to_send"`
	// Shed counts the 429/503 answers with Retry-After the callers
	// honoured (admission control shedding load).
	Shed int `json:"shed"`
	CPU  CPU `json:"cpu_seconds_per_verification"`
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
		// Fresh: each level, the open loop and the pending measurement ran
		// on a newly started stack (Stacks says what was new).
		Fresh bool `json:"fresh_stacks"`
		// Isolate: each target of each phase ran on a stack of its own.
		Isolate bool `json:"isolated_targets"`
	} `json:"options"`
	// Stacks are the stacks the run started, in order.
	Stacks []StackStart `json:"stacks"`
	Phases []Phase      `json:"phases"`
	// BareMax and VeriflowMax are the best closed-loop throughputs;
	// Ratio is VeriflowMax / BareMax.
	BareMax     float64            `json:"bare_max_per_sec"`
	VeriflowMax float64            `json:"veriflow_max_per_sec"`
	Ratio       float64            `json:"ratio"`
	History     map[string]History `json:"history"`
	Pending     *Pending           `json:"pending,omitempty"`
	Goals       []Goal             `json:"targets"`
}

// StackStart is one stack the run started.
type StackStart struct {
	// For names the phases it served ("closed 32", "open", "pending",
	// "the whole run").
	For      string  `json:"for"`
	ReadySec float64 `json:"ready_sec"`
	// Started says what was new and what was external, shared by all.
	Started string `json:"started"`
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

// goals judges r against issue 17's targets: latency is Veriflow's open-loop
// phase, bareOpen the bare shape's at the same rate.
func goals(r *Report, latency, bareOpen Phase) []Goal {
	var out []Goal
	if r.BareMax > 0 {
		out = append(out, Goal{Name: "peak throughput vs bare", Want: "≥ 1.00", Got: round(r.Ratio, 3), Unit: "ratio", Met: r.Ratio >= 1.0})
	}
	if r.VeriflowMax > 0 {
		for _, p := range r.Phases {
			if p.Target != "veriflow" || p.Mode != "closed" || p.Concurrency < 64 {
				continue
			}
			share := p.PerSec / r.VeriflowMax
			out = append(out, Goal{Name: fmt.Sprintf("%d callers vs own peak", p.Concurrency), Want: "≥ 0.95", Got: round(share, 3), Unit: "ratio",
				Met: share >= 0.95, Notes: fmt.Sprintf("%.1f of %.1f/s; %d shed", p.PerSec, r.VeriflowMax, p.Shed)})
		}
	}
	if latency.Approved > 0 {
		at := fmt.Sprintf("open loop at %.1f/s", latency.OfferedPerSec)
		out = append(out,
			Goal{Name: "time to send p99 at half bare sat.", Want: "≤ 50", Got: latency.Send.P99, Unit: "ms", Met: latency.Send.P99 > 0 && latency.Send.P99 <= 50, Notes: at},
			Goal{Name: "start p99 at half bare saturation", Want: "≤ 100", Got: latency.Start.P99, Unit: "ms", Met: latency.Start.P99 <= 100, Notes: at},
			Goal{Name: "check p99 at half bare saturation", Want: "≤ 100", Got: latency.Check.P99, Unit: "ms", Met: latency.Check.P99 <= 100, Notes: at})
		if bareOpen.Approved > 0 {
			out = append(out, Goal{Name: "CPU-s/verification vs bare (open)", Want: "≤ 1.00", Got: round(latency.CPU.Machine/bareOpen.CPU.Machine, 3), Unit: "ratio",
				Met: latency.CPU.Machine <= bareOpen.CPU.Machine, Notes: fmt.Sprintf("%.4f vs %.4f s", latency.CPU.Machine, bareOpen.CPU.Machine)})
		}
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
	for i, st := range r.Stacks {
		fmt.Fprintf(w, "stack %d for %s ready in %.1f s (%s)\n", i+1, st.For, st.ReadySec, st.Started)
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
	fmt.Fprintln(tw, "target\tload\tapproved/s\tstart p50\tp95\tp99\tto send p50\tp95\tp99\tcheck p50\tp95\tp99\tshed\tcpu s/verif\ttemporal\tpostgres\tbench proc\tearly checks\terrors\t")
	for _, p := range r.Phases {
		load := fmt.Sprintf("closed %d", p.Concurrency)
		if p.Mode == "open" {
			load = fmt.Sprintf("open %.1f/s", p.OfferedPerSec)
		}
		early := "-"
		if p.EarlyChecks != nil {
			early = fmt.Sprintf("%.0f%%", 100**p.EarlyChecks)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t%s\t%d\t\n",
			p.Target, load, p.PerSec, p.Start.P50, p.Start.P95, p.Start.P99, p.Send.P50, p.Send.P95, p.Send.P99, p.Check.P50, p.Check.P95, p.Check.P99, p.Shed,
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
