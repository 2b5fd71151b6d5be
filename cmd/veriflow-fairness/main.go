// Command veriflow-fairness is `make fairness`: it starts a Temporal dev
// server, a PostgreSQL and Veriflow, then measures whether one tenant can
// starve another. Tenant B starts verifications at a modest open-loop
// rate, first alone, then while tenant A floods starts from many
// closed-loop callers; for each phase it prints B's start-to-send p50/p99
// (start request sent → the sandbox provider stored the message), B's
// refusals, and A's starts, sends and refusals (see docs/reliability.md,
// Isolation).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/veriflow/veriflow/internal/bench"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/devstack"
	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/providers/sandbox"
	"github.com/veriflow/veriflow/internal/store"
)

// The two tenants: A floods, B is the neighbour that must not starve.
const (
	tenantA = "fair-a"
	tenantB = "fair-b"
)

// startBody is a signup to the sandbox number that delivers; supersede is
// off so concurrent verifications to the one number stay independent.
var startBody = []byte(`{"kind":"signup","to":{"phone":"` + sandbox.PhoneAllDelivered + `"},"supersede":false}`)

type options struct {
	rate                 float64
	idle, flood, ramp    time.Duration
	callers, admission   int
	unsent, global       int
	fairness, honorRetry bool
	sendWait             time.Duration
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "veriflow-fairness:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("veriflow-fairness", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: veriflow-fairness [flags]\n\nTenant B's start-to-send latency alone and under tenant A's flood (docs/reliability.md, Isolation).\n\nflags:")
		fs.PrintDefaults()
	}
	var o options
	fs.Float64Var(&o.rate, "rate", 2, "tenant B's open-loop starts per second")
	fs.DurationVar(&o.idle, "idle", 20*time.Second, "B alone: measured window")
	fs.DurationVar(&o.flood, "flood", 20*time.Second, "B under A's flood: measured window")
	fs.DurationVar(&o.ramp, "ramp", 5*time.Second, "A floods this long before B's flood window starts")
	fs.IntVar(&o.callers, "callers", 64, "tenant A's closed-loop callers (each starts again as soon as answered)")
	fs.IntVar(&o.admission, "admission", 8, "per-tenant starts in flight (VERIFLOW_TENANT_STARTS_IN_FLIGHT; 0: no bound)")
	fs.IntVar(&o.unsent, "unsent", 16, "per-tenant verifications started but not sent yet (VERIFLOW_TENANT_UNSENT_STARTS; 0: no bound)")
	fs.IntVar(&o.global, "global", 0, "the share rule's bound on the unsent starts of all tenants (VERIFLOW_UNSENT_STARTS_GLOBAL; 0: off)")
	fs.BoolVar(&o.fairness, "fairness", true, "Temporal task-queue fairness on the dev server (fairness key = tenant)")
	fs.BoolVar(&o.honorRetry, "honor-retry-after", true, "A's callers wait Retry-After after a 429 as the API asks (false: they hammer)")
	fs.DurationVar(&o.sendWait, "send-wait", 2*time.Minute, "how long to wait for B's last sends after a phase")
	out := fs.String("json", ".dev/fairness/latest.json", "write the report as JSON here (empty: don't)")
	logFile := fs.String("log", ".dev/fairness/veriflow.log", "Veriflow's own logs (JSON lines)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.rate <= 0 || o.callers <= 0 {
		return errors.New("-rate and -callers must be positive")
	}
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

	began := time.Now()
	fmt.Printf("starting Temporal dev server (fairness %v), PostgreSQL and Veriflow (per tenant: %d starts in flight, %d unsent; share rule: %d unsent of all tenants)…\n", o.fairness, o.admission, o.unsent, o.global)
	lifted := guard.Policy{Limits: guard.Limits{PerDestination10Min: 1e9, PerDestinationDay: 1e9, PerClientIP10Min: 1e9,
		PerTenantMinute: 1e9, FailedChecksPerDestinationHour: 1e9, PrefixBurst: 1e9}}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := devstack.Start(ctx, devstack.Options{
		DatabaseURL: os.Getenv("DATABASE_URL"), TemporalFairness: o.fairness,
		Config: config.Config{LogLevel: slog.LevelWarn, TenantStartsInFlight: o.admission, TenantUnsentStarts: o.unsent, UnsentStartsGlobal: o.global,
			Abuse: config.Abuse{Tenants: map[string]guard.Policy{tenantA: lifted, tenantB: lifted}}},
		Log: slog.New(slog.NewJSONHandler(lf, nil)), DependencyLog: quiet,
	})
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	keyA, err := s.CreateKey(ctx, tenantA, contract.ModeTest)
	if err != nil {
		return err
	}
	keyB, err := s.CreateKey(ctx, tenantB, contract.ModeTest)
	if err != nil {
		return err
	}
	fmt.Printf("ready in %.1f s (Veriflow logs: %s)\n", time.Since(began).Seconds(), *logFile)
	h := &harness{url: s.URL, store: s.App.Store, http: newHTTPClient()}

	rep := report{Options: reportOptions{Rate: o.rate, Idle: o.idle.String(), Flood: o.flood.String(), Ramp: o.ramp.String(),
		Callers: o.callers, Admission: o.admission, Unsent: o.unsent, Global: o.global, Fairness: o.fairness, HonorRetryAfter: o.honorRetry}}
	// Warm-up: a few of B's starts, unmeasured (connections, caches).
	fmt.Println("warm-up…")
	if _, err := h.phaseB(ctx, keyB, o.rate, 3*time.Second, o.sendWait); err != nil {
		return err
	}

	fmt.Printf("phase 1: B alone at %.1f/s for %s…\n", o.rate, o.idle)
	idle, err := h.phaseB(ctx, keyB, o.rate, o.idle, o.sendWait)
	if err != nil {
		return err
	}
	idle.Name = "B alone"
	rep.Phases = append(rep.Phases, idle)

	fmt.Printf("phase 2: A floods with %d callers (%s ramp), B at %.1f/s for %s…\n", o.callers, o.ramp, o.rate, o.flood)
	flood, err := h.floodPhase(ctx, keyA, keyB, o)
	if err != nil {
		return err
	}
	flood.Name = "B under A's flood"
	rep.Phases = append(rep.Phases, flood)
	rep.verdict()

	fmt.Println()
	rep.print(os.Stdout)
	if *out != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
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

func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 4096, 4096
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

type harness struct {
	url   string
	store *store.Store
	http  *http.Client
}

// start posts one start with key; it returns the verification id (201),
// or the status and, for a 429, its Retry-After.
func (h *harness) start(ctx context.Context, key string) (id string, status int, retryAfter time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url+"/v1/verifications", bytes.NewReader(startBody))
	if err != nil {
		return "", 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.http.Do(req)
	if err != nil {
		return "", 0, 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", resp.StatusCode, 0, err
	}
	if resp.StatusCode != http.StatusCreated {
		var ra time.Duration
		if v := resp.Header.Get("Retry-After"); v != "" {
			if d, perr := time.ParseDuration(v + "s"); perr == nil {
				ra = d
			}
		}
		return "", resp.StatusCode, ra, nil
	}
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", resp.StatusCode, 0, err
	}
	return v.ID, resp.StatusCode, 0, nil
}

// bStart is one of B's starts: when it was sent and what it got.
type bStart struct {
	id     string
	sentAt time.Time
	took   time.Duration
	status int
	err    error
}

// openLoopB starts B's verifications at rate for d, whatever the latency.
func (h *harness) openLoopB(ctx context.Context, key string, rate float64, d time.Duration) []bStart {
	n := int(d.Seconds() * rate)
	interval := time.Duration(float64(time.Second) / rate)
	out := make([]bStart, n)
	begin := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		t := time.NewTimer(time.Until(begin.Add(time.Duration(i) * interval)))
		select {
		case <-ctx.Done():
			t.Stop()
			wg.Wait()
			return out[:i]
		case <-t.C:
		}
		wg.Go(func() {
			out[i].sentAt = time.Now()
			out[i].id, out[i].status, _, out[i].err = h.start(ctx, key)
			out[i].took = time.Since(out[i].sentAt)
		})
	}
	wg.Wait()
	return out
}

// phaseB runs B alone and measures it.
func (h *harness) phaseB(ctx context.Context, keyB string, rate float64, d, sendWait time.Duration) (phase, error) {
	load0 := loadAvg()
	since := time.Now().Add(-time.Second)
	starts := h.openLoopB(ctx, keyB, rate, d)
	p := phase{LoadBefore: load0, LoadAfter: loadAvg(), Seconds: d.Seconds()}
	return p, h.measureB(ctx, &p, starts, since, sendWait)
}

// measureB waits for B's sends (at most sendWait) and fills p's B columns.
func (h *harness) measureB(ctx context.Context, p *phase, starts []bStart, since time.Time, sendWait time.Duration) error {
	want := 0
	for _, s := range starts {
		switch {
		case s.err != nil:
			p.BErrors++
		case s.status == http.StatusCreated:
			want++
		default:
			p.BRefused++
			p.BRefusedStatus = append(p.BRefusedStatus, s.status)
		}
	}
	p.BStarted = want
	deadline := time.Now().Add(sendWait)
	var sends map[string]time.Time
	for {
		var err error
		if sends, err = h.store.SandboxFirstSends(ctx, tenantB, since); err != nil {
			return err
		}
		got := 0
		for _, s := range starts {
			if _, ok := sends[s.id]; ok && s.id != "" {
				got++
			}
		}
		if got == want || time.Now().After(deadline) {
			break
		}
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	var lat, answer []time.Duration
	for _, s := range starts {
		if s.err == nil {
			answer = append(answer, s.took)
		}
		if at, ok := sends[s.id]; ok && s.id != "" {
			lat = append(lat, at.Sub(s.sentAt))
		}
	}
	p.BSent, p.BUnsent = len(lat), want-len(lat)
	l := bench.Percentiles(lat)
	p.BP50ms, p.BP99ms, p.BMaxms = l.P50, l.P99, l.Max
	p.BAnswerP99ms = bench.Percentiles(answer).P99
	return nil
}

// floodPhase runs A's closed-loop flood; after the ramp, B's open loop runs
// for o.flood inside it.
func (h *harness) floodPhase(ctx context.Context, keyA, keyB string, o options) (phase, error) {
	floodCtx, stopFlood := context.WithCancel(ctx)
	var created, refused, other, errs atomic.Int64
	var wg sync.WaitGroup
	for range o.callers {
		wg.Go(func() {
			for floodCtx.Err() == nil {
				_, status, ra, err := h.start(floodCtx, keyA)
				switch {
				case err != nil:
					if floodCtx.Err() == nil {
						errs.Add(1)
					}
				case status == http.StatusCreated:
					created.Add(1)
				case status == http.StatusTooManyRequests:
					refused.Add(1)
					if o.honorRetry && ra > 0 {
						t := time.NewTimer(ra)
						select {
						case <-floodCtx.Done():
						case <-t.C:
						}
						t.Stop()
					}
				default:
					other.Add(1)
				}
			}
		})
	}
	floodStart := time.Now()
	t := time.NewTimer(o.ramp)
	select {
	case <-ctx.Done():
		t.Stop()
		stopFlood()
		wg.Wait()
		return phase{}, ctx.Err()
	case <-t.C:
	}
	load0 := loadAvg()
	c0, r0 := created.Load(), refused.Load()
	windowStart := time.Now()
	starts := h.openLoopB(ctx, keyB, o.rate, o.flood)
	windowEnd := time.Now()
	c1, r1 := created.Load(), refused.Load()
	load1 := loadAvg()
	stopFlood()
	wg.Wait()
	secs := windowEnd.Sub(windowStart).Seconds()
	p := phase{LoadBefore: load0, LoadAfter: load1, Seconds: secs,
		AStartsPerSec: float64(c1-c0) / secs, ARefusedPerSec: float64(r1-r0) / secs,
		AStarted: created.Load(), ARefused: refused.Load(), AOther: other.Load(), AErrors: errs.Load()}
	aSends, err := h.store.SandboxFirstSends(ctx, tenantA, floodStart)
	if err != nil {
		return p, err
	}
	for _, at := range aSends {
		if !at.Before(windowStart) && at.Before(windowEnd) {
			p.ASendsPerSec++
		}
	}
	p.ASendsPerSec /= secs
	return p, h.measureB(ctx, &p, starts, windowStart.Add(-time.Second), o.sendWait)
}
