package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// loadAvg is the machine's 1-minute load average ("" when unknown).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Fields(string(b))[0]
}

type reportOptions struct {
	Rate                      float64
	Idle, Flood, Ramp         string
	Callers, Admission        int
	Unsent                    int
	Global                    int
	Fairness, HonorRetryAfter bool
}

// phase is one measured window.
type phase struct {
	Name                  string
	Seconds               float64
	LoadBefore, LoadAfter string
	// B: started (201), sent, never sent within the wait, refused (non-201
	// answers), transport errors; start-to-send percentiles.
	BStarted, BSent, BUnsent, BRefused, BErrors int
	BRefusedStatus                              []int `json:",omitempty"`
	// BAnswerP99ms is the p99 of B's start request answered (201 or not).
	BAnswerP99ms           float64
	BP50ms, BP99ms, BMaxms float64
	// A (flood phase only): starts admitted and refused per second within
	// B's window, A's sends per second in it, and totals.
	AStartsPerSec, ARefusedPerSec, ASendsPerSec float64
	AStarted, ARefused, AOther, AErrors         int64
}

type report struct {
	Options reportOptions
	Phases  []phase
	// P99Ratio is B's p99 under the flood over B's p99 alone (target ≤ 2);
	// Pass says the ratio and B's zero refusals both hold.
	P99Ratio float64
	Pass     bool
}

func (r *report) verdict() {
	if len(r.Phases) != 2 || r.Phases[0].BP99ms == 0 {
		return
	}
	idle, flood := r.Phases[0], r.Phases[1]
	r.P99Ratio = flood.BP99ms / idle.BP99ms
	r.Pass = r.P99Ratio <= 2 && flood.BRefused == 0 && flood.BErrors == 0 && flood.BUnsent == 0
}

func (r *report) print(w io.Writer) {
	o := r.Options
	fmt.Fprintf(w, "fairness: B at %.1f/s; A %d callers (honor Retry-After %v); admission per tenant: %d starts in flight, %d unsent; share rule over all tenants' unsent starts: %d; Temporal fairness %v\n\n",
		o.Rate, o.Callers, o.HonorRetryAfter, o.Admission, o.Unsent, o.Global, o.Fairness)
	fmt.Fprintf(w, "%-18s %-11s %6s %6s %7s %7s %9s %9s %9s %9s %9s %9s %9s\n",
		"phase", "load 1m", "B sent", "unsent", "B refus", "B errs", "B p50 ms", "B p99 ms", "B max ms", "B 201 p99", "A start/s", "A sent/s", "A 429/s")
	for _, p := range r.Phases {
		a := [3]string{"-", "-", "-"}
		if p.AStarted > 0 || p.ARefused > 0 {
			a = [3]string{fmt.Sprintf("%.0f", p.AStartsPerSec), fmt.Sprintf("%.0f", p.ASendsPerSec), fmt.Sprintf("%.0f", p.ARefusedPerSec)}
		}
		fmt.Fprintf(w, "%-18s %-11s %6d %6d %7d %7d %9.0f %9.0f %9.0f %9.0f %9s %9s %9s\n",
			p.Name, p.LoadBefore+"→"+p.LoadAfter, p.BSent, p.BUnsent, p.BRefused, p.BErrors, p.BP50ms, p.BP99ms, p.BMaxms, p.BAnswerP99ms, a[0], a[1], a[2])
	}
	if len(r.Phases) == 2 {
		f := r.Phases[1]
		fmt.Fprintf(w, "\nA during the flood: %d started, %d refused (429), %d other answers, %d errors\n", f.AStarted, f.ARefused, f.AOther, f.AErrors)
		verdict := "MISSED"
		if r.Pass {
			verdict = "met"
		}
		fmt.Fprintf(w, "B p99 under A's flood / alone: %.2f× (target ≤ 2×); B refused %d (target 0): %s\n", r.P99Ratio, f.BRefused, verdict)
	}
}
