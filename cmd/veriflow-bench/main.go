// Command veriflow-bench is `make bench`: it starts a Temporal dev server,
// a PostgreSQL and Veriflow (anew for each phase unless -fresh=false), then
// measures the full verification path through HTTP against a bare Temporal
// workflow of the same shape on the same server, and prints throughput,
// latency percentiles, CPU per verification and the ratio Veriflow/bare
// (also as JSON).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/veriflow/veriflow/internal/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "veriflow-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("veriflow-bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: veriflow-bench [flags]\n\nMeasures Veriflow against the bare Temporal shape on the same dev server, a fresh stack per phase unless -fresh=false (see docs/performance.md).\n\nflags:")
		fs.PrintDefaults()
	}
	levels := fs.String("levels", "32,64,128", "closed-loop concurrencies (callers in flight), comma-separated")
	duration := fs.Duration("duration", 30*time.Second, "measured window of each phase (30 s: two 15 s phases on fresh stacks differed by up to 15 % on this machine)")
	warmup := fs.Duration("warmup", 6*time.Second, "unmeasured warm-up")
	thinkTime := fs.Duration("think", time.Second, "wait between start and check: the person reading the code, which the sandbox delivers first (the report's early-checks column says how often it did not)")
	fraction := fs.Float64("latency-fraction", 0.5, "open-loop rate for the latency targets, as a fraction of the bare saturation")
	pending := fs.Int("pending", 0, "also open this many pending verifications and report the process RSS")
	slices := fs.Int("slices", 3, "alternations of bare and Veriflow within each closed-loop level")
	pendingOnly := fs.Bool("pending-only", false, "only the -pending measurement (no throughput or latency phases)")
	cache := fs.Int("workflow-cache", 0, "the worker's sticky workflow cache size (0: the SDK's default, 10 000)")
	skipBare := fs.Bool("skip-bare", false, "measure Veriflow only (profiling; no ratio)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (load generator, API and worker, and each stack's start) to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile of this process at the end (after -pending, what the open verifications hold)")
	out := fs.String("json", ".dev/bench/latest.json", "write the report as JSON here (empty: don't)")
	isolate := fs.Bool("isolate", true, "with -fresh: bare and Veriflow each on a stack of their own in every phase, one window each (-slices ignored); false: they alternate in slices on one stack per phase")
	fresh := fs.Bool("fresh", true, "start a new stack (dev server, PostgreSQL, Veriflow, bare worker; not an external TEMPORAL_ADDRESS or DATABASE_URL) for each level, the open loop and -pending, each warmed up; false: one stack for the whole run")
	logFile := fs.String("log", ".dev/bench/veriflow.log", "Veriflow's own logs (JSON lines)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var opts bench.Options
	if *pendingOnly {
		*levels, *fraction = "", 0
		if *pending <= 0 {
			return errors.New("-pending-only needs -pending N")
		}
	}
	for f := range strings.SplitSeq(*levels, ",") {
		if *levels == "" {
			break
		}
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("-levels: %q is not a positive number", f)
		}
		opts.Levels = append(opts.Levels, n)
	}
	opts.Duration, opts.Warmup, opts.Think, opts.LatencyFraction, opts.Pending = *duration, *warmup, *thinkTime, *fraction, *pending
	opts.Progress, opts.SkipBare, opts.WorkflowCache, opts.Slices, opts.Fresh, opts.Isolate = os.Stdout, *skipBare, *cache, *slices, *fresh, *isolate

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(filepath.Dir(*logFile), 0o755); err != nil {
		return err
	}
	lf, err := os.Create(*logFile)
	if err != nil {
		return err
	}
	defer func() { _ = lf.Close() }()
	if *cache > 0 {
		// Process-wide in the SDK; set before any worker starts.
		worker.SetStickyWorkflowCacheSize(*cache)
	}
	began := time.Now()
	if addr := os.Getenv("TEMPORAL_ADDRESS"); addr != "" {
		fmt.Printf("Temporal server at %s (external: one for every stack)\n", addr)
	}
	switch {
	case *fresh && *isolate:
		fmt.Println("a fresh stack for each target of each level and of the open loop, and for -pending (what each starts anew: its line below)")
	case *fresh:
		fmt.Println("a fresh stack for each level, the open loop and -pending (what each starts anew: its line below)")
	default:
		fmt.Println("one stack for the whole run (-fresh=false)")
	}
	fmt.Printf("Veriflow logs: %s\n", *logFile)
	log := slog.New(slog.NewJSONHandler(lf, nil))
	start := func(ctx context.Context) (*bench.Stack, error) { return bench.StartStack(ctx, log) }
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		opts.AtEnd = func() error { return writeHeapProfile(*memProfile) }
	}
	r, err := bench.Run(ctx, start, opts)
	if err != nil {
		return err
	}
	fmt.Println()
	if err := r.Print(os.Stdout); err != nil {
		return err
	}
	if *out != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Printf("\nJSON report: %s (total %.0f s)\n", *out, time.Since(began).Seconds())
	}
	return nil
}

// writeHeapProfile writes the live heap, after a collection, to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
