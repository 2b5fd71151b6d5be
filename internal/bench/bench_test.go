package bench

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/devstack"
	"github.com/veriflow/veriflow/internal/localpg"
)

func TestPercentiles(t *testing.T) {
	d := make([]time.Duration, 0, 100)
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	got := Percentiles(d)
	want := Latency{P50: 50, P95: 95, P99: 99, Max: 100}
	if got != want {
		t.Fatalf("percentiles = %+v, want %+v", got, want)
	}
	if one := Percentiles([]time.Duration{7 * time.Millisecond}); one != (Latency{7, 7, 7, 7}) {
		t.Fatalf("one sample: %+v", one)
	}
}

// TestSmoke runs the whole benchmark briefly on fresh, isolated stacks:
// each target of each phase on a new one, all stopped at the end; both shapes approve, with no
// errors, and their histories are counted.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and PostgreSQL")
	}
	var started []*Stack
	start := func(ctx context.Context) (*Stack, error) {
		s, err := StartStack(ctx, slog.New(slog.DiscardHandler))
		if err == nil {
			started = append(started, s)
		}
		return s, err
	}
	r, err := Run(t.Context(), start, Options{Levels: []int{2}, Duration: 2 * time.Second, Think: 50 * time.Millisecond, LatencyFraction: 0.5, Pending: 20, Fresh: true, Isolate: true})
	switch {
	case errors.Is(err, localpg.ErrNoBinaries) && os.Getenv("VERIFLOW_REQUIRE_POSTGRES") != "1",
		errors.Is(err, devstack.ErrNoTemporalCLI) && os.Getenv("VERIFLOW_REQUIRE_TEMPORAL") != "1":
		t.Skip(err)
	case err != nil:
		t.Fatal(err)
	}
	// closed 2 and open, each for bare and for Veriflow, and pending: five
	// stacks, five dev servers, none left.
	if len(started) != 5 || len(r.Stacks) != 5 || !r.Options.Fresh || !r.Options.Isolate {
		t.Fatalf("%d stacks started, report %+v, fresh %v, isolated %v", len(started), r.Stacks, r.Options.Fresh, r.Options.Isolate)
	}
	for i, want := range []string{"closed 2 bare", "closed 2 veriflow", "open bare", "open veriflow", "pending"} {
		if r.Stacks[i].For != want {
			t.Errorf("stack %d for %q, want %q", i+1, r.Stacks[i].For, want)
		}
	}
	pids := map[int]bool{}
	for i, s := range started {
		pids[s.TemporalPID] = true
		if err := syscall.Kill(s.TemporalPID, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("stack %d: dev server %d still runs (%v)", i+1, s.TemporalPID, err)
		}
		if !strings.HasPrefix(r.Stacks[i].Started, "new Temporal dev server, PostgreSQL") || r.Stacks[i].ReadySec <= 0 {
			t.Errorf("stack %d: %+v", i+1, r.Stacks[i])
		}
	}
	if len(pids) != 5 {
		t.Errorf("dev server PIDs %v, want five different", pids)
	}
	for _, p := range r.Phases {
		if p.Approved == 0 || p.Errors != 0 {
			t.Errorf("%s %s: %d approved, %d errors %v", p.Target, p.Mode, p.Approved, p.Errors, p.ErrorSample)
		}
	}
	if len(r.Phases) != 4 || r.BareMax <= 0 || r.VeriflowMax <= 0 || r.Ratio <= 0 {
		t.Errorf("report: %d phases, bare %.1f/s, veriflow %.1f/s, ratio %.2f", len(r.Phases), r.BareMax, r.VeriflowMax, r.Ratio)
	}
	// The bare shape has one receipt; Veriflow's sandbox reports WhatsApp
	// as delivered, then read (two signals, as the Cloud API does).
	for k, signals := range map[string]int{"bare": 1, "veriflow": 2} {
		if h := r.History[k]; h.WorkflowTasks == 0 || h.Activities != 1 || h.Signals != signals {
			t.Errorf("%s history: %+v, want %d signals", k, h, signals)
		}
	}
	if r.Pending == nil || r.Pending.Opened != 20 || r.Pending.PeakRSSMiB <= 0 {
		t.Errorf("pending: %+v", r.Pending)
	}
	for _, p := range r.Phases {
		if p.Send.P50 <= 0 || p.Send.P99 < p.Send.P50 {
			t.Errorf("%s %s: time to send %+v", p.Target, p.Mode, p.Send)
		}
	}
	// ratio, time to send, start, check, CPU, RSS (no level of 64 or more).
	if len(r.Goals) != 6 {
		t.Errorf("goals: %+v", r.Goals)
	}
}

// TestRunStartError: a stack that does not start ends the run with the
// starter's error, wrapped.
func TestRunStartError(t *testing.T) {
	boom := errors.New("boom")
	_, err := Run(t.Context(), func(context.Context) (*Stack, error) { return nil, boom }, Options{Levels: []int{2}, Fresh: true})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "closed 2") {
		t.Fatalf("err = %v, want boom for closed 2", err)
	}
}

// TestGoalsJudgeOverload: the 64- and 128-caller levels are judged against
// Veriflow's own peak, and the CPU against the bare shape's open loop.
func TestGoalsJudgeOverload(t *testing.T) {
	r := &Report{BareMax: 20, VeriflowMax: 20, Ratio: 1, Phases: []Phase{
		{Target: "veriflow", Mode: "closed", Concurrency: 32, PerSec: 20},
		{Target: "veriflow", Mode: "closed", Concurrency: 64, PerSec: 19.5},
		{Target: "veriflow", Mode: "closed", Concurrency: 128, PerSec: 18},
	}}
	open := Phase{Approved: 10, OfferedPerSec: 10, Send: Latency{P99: 40}, Start: Latency{P99: 50}, Check: Latency{P99: 90}, CPU: CPU{Machine: 0.05}}
	bare := Phase{Approved: 10, CPU: CPU{Machine: 0.04}}
	met := map[string]bool{}
	for _, g := range goals(r, open, bare) {
		met[g.Name] = g.Met
	}
	want := map[string]bool{
		"peak throughput vs bare": true, "64 callers vs own peak": true, "128 callers vs own peak": false,
		"time to send p99 at half bare sat.": true, "start p99 at half bare saturation": true,
		"check p99 at half bare saturation": true, "CPU-s/verification vs bare (open)": false,
	}
	for name, w := range want {
		if got, ok := met[name]; !ok || got != w {
			t.Errorf("goal %q: met=%v (present %v), want %v", name, got, ok, w)
		}
	}
}
