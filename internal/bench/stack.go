// Package bench measures Veriflow against the ceiling of the Temporal
// server it runs on: the full path through HTTP (start → sandbox receipt →
// check → approved) and, on the same server in the same run, a bare
// Temporal workflow of the same shape (start, one activity, a signal, an
// update). `make bench` runs it through cmd/veriflow-bench.
package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/devstack"
	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/store"
)

// Tenant is the tenant the benchmark's API key belongs to; its rate limits
// are lifted so the limits, not the service, would never be what is
// measured.
const Tenant = "bench"

// Stack is the system under test: a Temporal dev server and a PostgreSQL
// (each started for the run unless TEMPORAL_ADDRESS / DATABASE_URL name
// one), Veriflow's API and worker in this process, and the bare workflow's
// worker on its own task queue of the same server.
type Stack struct {
	// APIURL is Veriflow's base URL; APIKey a test-mode key of Tenant.
	APIURL string
	APIKey string
	// Secrets derive the codes, as the sandbox "phone" would show them.
	Secrets *otp.Secrets
	// Veriflow is the service's Temporal client (with its payload codec);
	// Bare is a plain client for the bare workflow.
	Veriflow client.Client
	Bare     client.Client
	// TemporalPID and PostgresPID are the servers' processes when this run
	// started them (0 otherwise), for CPU accounting.
	TemporalPID, PostgresPID int
	// TemporalDBPID is the postmaster of the Temporal server's own
	// PostgreSQL (the production topology), counted with Temporal.
	TemporalDBPID int

	// started says what StartStack started for this stack and what it
	// found running (TEMPORAL_ADDRESS, DATABASE_URL), for the progress
	// lines and the report.
	started string

	store        *store.Store
	dev          *devstack.Stack
	bareWorker   sdkworker.Worker
	bareAccepted func(workflowID string) (time.Time, bool)
	log          *slog.Logger
}

// StartStack starts everything. Veriflow logs go to log (production JSON
// lines; pass a file, not a terminal). Close stops it all.
func StartStack(ctx context.Context, log *slog.Logger) (_ *Stack, err error) {
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Admission as in production: VERIFLOW_API_MAX_IN_FLIGHT and
	// VERIFLOW_API_QUEUE_WAIT (unset: the API's defaults).
	inFlight, _ := strconv.Atoi(os.Getenv("VERIFLOW_API_MAX_IN_FLIGHT"))
	queueWait, _ := time.ParseDuration(os.Getenv("VERIFLOW_API_QUEUE_WAIT"))
	// The API-key cache as in production (VERIFLOW_API_KEY_CACHE_TTL,
	// unset: 30 s; 0: off, for a before/after comparison).
	keyTTL, keyErr := time.ParseDuration(os.Getenv("VERIFLOW_API_KEY_CACHE_TTL"))
	if keyErr == nil && keyTTL == 0 {
		keyTTL = -1
	}
	dev, err := devstack.Start(ctx, devstack.Options{
		DatabaseURL: os.Getenv("DATABASE_URL"), TemporalAddress: os.Getenv("TEMPORAL_ADDRESS"),
		Config: config.Config{LogLevel: slog.LevelInfo, MaxInFlight: inFlight, QueueWait: queueWait, APIKeyCacheTTL: keyTTL, Abuse: config.Abuse{Tenants: map[string]guard.Policy{Tenant: {Limits: guard.Limits{
			PerDestination10Min: 1e9, PerDestinationDay: 1e9, PerClientIP10Min: 1e9, PerTenantMinute: 1e9,
			FailedChecksPerDestinationHour: 1e9, PrefixBurst: 1e9,
		}}}}},
		Log: log, DependencyLog: quiet,
	})
	if err != nil {
		return nil, err
	}
	s := &Stack{APIURL: dev.URL, Secrets: dev.App.Secrets, Veriflow: dev.App.Temporal, TemporalPID: dev.TemporalPID, PostgresPID: dev.PostgresPID,
		store: dev.App.Store, dev: dev, log: log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	s.started = describe(dev)
	// An external Temporal server (TEMPORAL_ADDRESS) is accounted for when
	// its process, and its database's postmaster, are named
	// (scripts/bench-on-postgres.sh does).
	if s.TemporalPID == 0 {
		s.TemporalPID, _ = strconv.Atoi(os.Getenv("VERIFLOW_BENCH_TEMPORAL_PID"))
		s.TemporalDBPID, _ = strconv.Atoi(os.Getenv("VERIFLOW_BENCH_TEMPORAL_DB_PID"))
	}
	if s.APIKey, err = dev.CreateKey(ctx, Tenant, contract.ModeTest); err != nil {
		return nil, err
	}

	// The bare shape: a plain client (no codec, no interceptors) and a
	// worker with default options on its own task queue.
	if s.Bare, err = client.DialContext(ctx, client.Options{HostPort: dev.TemporalAddress, Namespace: "default", Logger: tlog.NewStructuredLogger(quiet)}); err != nil {
		return nil, fmt.Errorf("bare client: %w", err)
	}
	w := sdkworker.New(s.Bare, BareTaskQueue, sdkworker.Options{})
	s.bareAccepted = RegisterBare(w, s.Bare)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("bare worker: %w", err)
	}
	s.bareWorker = w
	return s, nil
}

// Started says what StartStack started for s (new processes and
// databases) and which dependencies it found running, and so shared with
// every other stack of the run.
func (s *Stack) Started() string { return s.started }

// describe names what dev started and what it found running (never the
// database URL: it may hold a password).
func describe(dev *devstack.Stack) string {
	started, external := []string{}, []string{}
	if dev.TemporalPID != 0 {
		started = append(started, "Temporal dev server")
	} else {
		external = append(external, "Temporal at "+dev.TemporalAddress)
	}
	if dev.PostgresPID != 0 {
		started = append(started, "PostgreSQL")
	} else {
		external = append(external, "PostgreSQL of DATABASE_URL")
	}
	out := "new " + strings.Join(append(started, "Veriflow", "bare worker"), ", ")
	if len(external) > 0 {
		out += "; external, not fresh: " + strings.Join(external, ", ")
	}
	return out
}

// Close stops everything StartStack started, in reverse order.
func (s *Stack) Close() {
	if s.bareWorker != nil {
		s.bareWorker.Stop()
		s.bareWorker = nil
	}
	if s.Bare != nil {
		s.Bare.Close()
		s.Bare = nil
	}
	if s.dev != nil {
		if err := s.dev.Close(); err != nil {
			s.log.Warn("bench: stack stopped with an error", "error", err)
		}
		s.dev = nil
	}
}
