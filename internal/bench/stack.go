// Package bench measures Veriflow against the ceiling of the Temporal
// server it runs on: the full path through HTTP (start → sandbox receipt →
// check → approved) and, on the same server in the same run, a bare
// Temporal workflow of the same shape (start, one activity, a signal, an
// update). `make bench` runs it through cmd/veriflow-bench.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/veriflow/veriflow/internal/apikey"
	"github.com/veriflow/veriflow/internal/app"
	"github.com/veriflow/veriflow/internal/codec"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/devstack"
	"github.com/veriflow/veriflow/internal/evidence"
	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/localpg"
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

	store   *store.Store
	cleanup []func()
}

// StartStack starts everything. Veriflow logs go to log (production JSON
// lines; pass a file, not a terminal). Close stops it all.
func StartStack(ctx context.Context, log *slog.Logger) (_ *Stack, err error) {
	s := &Stack{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		pg, err := localpg.Start(ctx, localpg.Options{Logger: quiet})
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		s.cleanup = append(s.cleanup, func() { _ = pg.Stop() })
		dbURL, s.PostgresPID = pg.URL(), pg.PID()
	}
	temporalAddr := os.Getenv("TEMPORAL_ADDRESS")
	if temporalAddr == "" {
		t, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{Log: quiet})
		if err != nil {
			return nil, fmt.Errorf("temporal: %w", err)
		}
		s.cleanup = append(s.cleanup, t.Stop)
		temporalAddr, s.TemporalPID = t.Addr, t.PID()
	}

	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	ekid, seed, err := evidence.GenerateKey(time.Now())
	if err != nil {
		return nil, err
	}
	pkid, pkey, err := codec.GenerateKey(time.Now())
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg := config.Config{
		DatabaseURL: dbURL, TemporalAddress: temporalAddr, TemporalNamespace: "default",
		CodeSecret:      []byte(hex.EncodeToString(secret)),
		ShutdownTimeout: 5 * time.Second,
		EvidenceKeys:    ekid + ":" + seed,
		PayloadKeys:     pkid + ":" + pkey,
		LogLevel:        slog.LevelInfo,
		Abuse: config.Abuse{Tenants: map[string]guard.Policy{Tenant: {Limits: guard.Limits{
			PerDestination10Min: 1e9, PerDestinationDay: 1e9, PerClientIP10Min: 1e9, PerTenantMinute: 1e9,
			FailedChecksPerDestinationHour: 1e9, PrefixBurst: 1e9,
		}}}},
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("open veriflow: %w", err)
	}
	s.cleanup = append(s.cleanup, a.Close)
	s.Veriflow, s.Secrets, s.store = a.Temporal, a.Secrets, a.Store
	if err := devstack.EnsureSearchAttributes(ctx, a.Temporal, "default"); err != nil {
		_ = ln.Close()
		return nil, err
	}
	if err := a.Store.Migrate(ctx); err != nil {
		_ = ln.Close()
		return nil, err
	}
	key := apikey.Generate(contract.ModeTest)
	if err := a.Store.EnsureTenant(ctx, Tenant, Tenant); err != nil {
		_ = ln.Close()
		return nil, err
	}
	if err := a.Store.CreateAPIKey(ctx, store.APIKey{ID: key.ID, TenantID: Tenant, Mode: contract.ModeTest, SecretHash: apikey.Hash(key.Secret)}); err != nil {
		_ = ln.Close()
		return nil, err
	}
	s.APIKey, s.APIURL = key.String(), "http://"+ln.Addr().String()

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan error, 1)
	go func() { workerDone <- a.RunWorker(runCtx) }()
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.cleanup = append(s.cleanup, func() {
		stop()
		_ = srv.Close()
		if err := <-workerDone; err != nil {
			log.Warn("bench: worker stopped with an error", "error", err)
		}
	})

	// The bare shape: a plain client (no codec, no interceptors) and a
	// worker with default options on its own task queue.
	bare, err := client.DialContext(ctx, client.Options{HostPort: temporalAddr, Namespace: "default", Logger: tlog.NewStructuredLogger(quiet)})
	if err != nil {
		return nil, fmt.Errorf("bare client: %w", err)
	}
	s.Bare = bare
	s.cleanup = append(s.cleanup, bare.Close)
	w := sdkworker.New(bare, BareTaskQueue, sdkworker.Options{})
	RegisterBare(w, bare)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("bare worker: %w", err)
	}
	s.cleanup = append(s.cleanup, w.Stop)
	return s, devstack.WaitHTTP(ctx, s.APIURL+"/readyz", 30*time.Second)
}

// Close stops everything StartStack started, in reverse order.
func (s *Stack) Close() {
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
	s.cleanup = nil
}
