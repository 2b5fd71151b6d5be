// Package app wires Veriflow's processes from a configuration: the store,
// the Temporal client, the worker with its providers, and the HTTP server.
// The cmd/veriflow subcommands and the integration tests both use it.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/veriflow/veriflow/activities"
	"github.com/veriflow/veriflow/api"
	"github.com/veriflow/veriflow/internal/admission"
	"github.com/veriflow/veriflow/internal/branding"
	"github.com/veriflow/veriflow/internal/codec"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/events/delivery"
	"github.com/veriflow/veriflow/internal/evidence"
	"github.com/veriflow/veriflow/internal/fraud"
	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/keycache"
	"github.com/veriflow/veriflow/internal/metrics"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/providers/sandbox"
	"github.com/veriflow/veriflow/internal/receipts"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/worker"
)

// NewLogger returns the process logger for c.
func NewLogger(c config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// App holds the connections shared by the API and the worker.
type App struct {
	Config   config.Config
	Log      *slog.Logger
	Store    *store.Store
	Temporal client.Client
	Secrets  *otp.Secrets
	Evidence *evidence.Keyring
	// PayloadKeys encrypt Temporal payloads; the API serves them as a codec
	// server for the Temporal UI.
	PayloadKeys *codec.Keyring
	// Registry holds the process's Prometheus metrics (Go runtime, process,
	// HTTP and business); Metrics are Veriflow's own.
	Registry *prometheus.Registry
	Metrics  *metrics.Metrics
	// sdkMetrics reports the Temporal SDK's metrics into Registry.
	sdkMetrics io.Closer
	// ProviderHTTPClient, when set, carries the providers' API calls (tests
	// point it at mocks); nil uses each adapter's default client.
	ProviderHTTPClient *http.Client
	// WorkerInterceptors, when set, wrap the worker's workflows and
	// activities (tests that slow one workflow down).
	WorkerInterceptors []interceptor.WorkerInterceptor
	// Admission bounds each tenant's starts in flight in this process's
	// API (Config.TenantStartsInFlight).
	Admission *admission.Limiter
	// Keys caches the API's authenticated keys (nil when
	// VERIFLOW_API_KEY_CACHE_TTL is 0: Config.APIKeyCacheTTL negative);
	// ServeHandler runs its listener.
	Keys *keycache.Cache
	// Share is the share rule over the unsent starts of all tenants in
	// this process's API (Config.UnsentStartsGlobal; off at 0). Tests call
	// its Refresh to decide on the rows they stored.
	Share *admission.Share
}

// Open validates c and connects to Postgres and Temporal.
func Open(ctx context.Context, c config.Config, log *slog.Logger) (*App, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	secrets, err := otp.New(c.CodeSecret)
	if err != nil {
		return nil, err
	}
	keys, err := evidence.ParseKeyring(c.EvidenceKeys)
	if err != nil {
		return nil, fmt.Errorf("VERIFLOW_EVIDENCE_KEYS: %w", err)
	}
	payloadKeys, err := codec.ParseKeyring(c.PayloadKeys)
	if err != nil {
		return nil, fmt.Errorf("VERIFLOW_PAYLOAD_KEYS: %w", err)
	}
	st, err := store.Open(ctx, c.DatabaseURL)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The SDK's own worker and client metrics go to the same registry.
	sdkMetrics, sdkMetricsCloser := metrics.NewTemporalHandler(reg, log.With("component", "temporal"))
	tc, err := client.DialContext(ctx, client.Options{
		HostPort:       c.TemporalAddress,
		Namespace:      c.TemporalNamespace,
		Logger:         tlog.NewStructuredLogger(log.With("component", "temporal")),
		MetricsHandler: sdkMetrics,
		// Every payload and failure message is encrypted in history.
		DataConverter:    codec.DataConverter(payloadKeys),
		FailureConverter: codec.FailureConverter(payloadKeys),
		// Payloads are AES-GCM ciphertext, which gzip cannot shrink; the
		// SDK's default gRPC compression only cost CPU (make bench: 14 % of
		// the worker process's CPU went to gzip).
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: &client.GrpcCompressionNone{}},
	})
	if err != nil {
		st.Close()
		_ = sdkMetricsCloser.Close() // only stops the reporting loop
		return nil, fmt.Errorf("temporal: dial %s: %w", c.TemporalAddress, err)
	}
	m := metrics.New(reg)
	var keyCache *keycache.Cache
	if c.APIKeyCacheTTL >= 0 { // 0: keycache.DefaultTTL; negative: off
		keyCache = keycache.New(keycache.Options{TTL: c.APIKeyCacheTTL, MaxEntries: c.APIKeyCacheSize,
			Log: log.With("component", "keycache"), Metrics: m})
	}
	return &App{Config: c, Admission: admission.New(c.TenantStartsInFlight),
		Share: admission.NewShare(st, c.UnsentStartsGlobal, admission.UnsentWindow, admission.ShareRefresh), Log: log, Store: st, Temporal: tc, Secrets: secrets, Evidence: keys, PayloadKeys: payloadKeys,
		Registry: reg, Metrics: m, sdkMetrics: sdkMetricsCloser, Keys: keyCache}, nil
}

// Close closes the connections, then flushes and stops the Temporal SDK's
// metrics reporting.
func (a *App) Close() {
	a.Temporal.Close()
	a.Store.Close()
	if a.sdkMetrics != nil {
		if err := a.sdkMetrics.Close(); err != nil {
			a.Log.Warn("temporal sdk metrics: close", "error", err)
		}
	}
}

// RunWorker runs the Temporal worker until ctx is done, then stops it
// gracefully (running activities are allowed to finish).
func (a *App) RunWorker(ctx context.Context) error {
	rs := a.receipts()
	sb := sandbox.New(sandboxStore{a.Store}, a.Secrets, rs)
	// Receipts that could not be signalled (Temporal unreachable, a crash
	// between storing and signalling) are signalled again by the relay.
	// Each pass is counted and stamps the relay's last success, so a stuck
	// relay shows on /metrics (alert VeriflowRelayStuck); the stamps start
	// now, when the relays do.
	now := time.Now()
	a.Metrics.ObserveRelay(metrics.RelayReceipts, 0, nil, now)
	a.Metrics.ObserveRelay(metrics.RelayEvents, 0, nil, now)
	relay := receipts.NewRelay(a.Store, rs, a.Log)
	go every(ctx, 5*time.Second, func(ctx context.Context) {
		n, err := relay.Once(ctx)
		a.Metrics.ObserveRelay(metrics.RelayReceipts, n, err, time.Now())
		if err != nil {
			a.Log.WarnContext(ctx, "receipt relay", "error", err)
		} else if n > 0 {
			a.Log.InfoContext(ctx, "receipt relay signalled stranded receipts", "count", n)
		}
	})
	// Outbound events whose delivery workflow could not be started are
	// started by the events relay.
	go every(ctx, 10*time.Second, func(ctx context.Context) {
		n, err := delivery.RelayPending(ctx, a.Store, a.Temporal, a.Log)
		a.Metrics.ObserveRelay(metrics.RelayEvents, n, err, time.Now())
		if err != nil {
			a.Log.WarnContext(ctx, "events relay", "error", err)
		} else if n > 0 {
			a.Log.InfoContext(ctx, "events relay started stranded deliveries", "count", n)
		}
	})
	router, err := a.Router(sb)
	if err != nil {
		return err
	}
	acts := &activities.Activities{
		Store:     a.Store,
		Providers: router,
		Secrets:   a.Secrets,
		Receipts:  rs,
		Evidence:  a.Evidence,
		Metrics:   a.Metrics,
		Log:       a.Log,
		Temporal:  a.Temporal,
		Brands:    a.Brands(),
		Ledger:    a.Store,
		Failover:  a.Failover(),
	}
	deliveries := &delivery.Activities{Store: a.Store, Secrets: a.Secrets, Log: a.Log, Metrics: a.Metrics}
	w := worker.New(a.Temporal, acts, deliveries, sdkworker.Options{WorkerStopTimeout: a.Config.ShutdownTimeout, Interceptors: a.WorkerInterceptors})
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	a.Log.Info("worker started", "task_queue", "veriflow")
	<-ctx.Done()
	w.Stop()
	a.Log.Info("worker stopped")
	return nil
}

// receipts returns the receipts inbox, with the chaos test's fault
// injection when the configuration asks for it.
func (a *App) receipts() *receipts.Service {
	rs := receipts.New(a.Store, a.Temporal, a.Log)
	if a.Config.TestDropFirstReceiptSignal {
		a.Log.Warn("test fault injection on: the first signal of every receipt is dropped (VERIFLOW_TEST_DROP_FIRST_RECEIPT_SIGNAL)")
		rs.DropFirstSignals()
	}
	return rs
}

// Brands returns the resolver of tenants' display names and SMS autofill
// settings: Postgres first, then the config file, then VERIFLOW_BRAND.
func (a *App) Brands() *branding.Resolver {
	return branding.New(a.Store, BrandDefaults(a.Config.Branding))
}

// BrandDefaults turns the configuration's branding (config file and
// VERIFLOW_BRAND) into the resolver's defaults.
func BrandDefaults(c config.Branding) branding.Defaults {
	d := branding.Defaults{Name: c.Default, Tenants: map[string]store.Branding{}}
	for t, b := range c.Tenants {
		d.Tenants[t] = store.Branding{Name: b.Name, Origin: b.Origin, AppHash: b.AppHash}
	}
	return d
}

// Handler returns the HTTP API, including the provider webhooks.
func (a *App) Handler() http.Handler {
	wh := a.webhooks(a.receipts())
	if nets := a.Config.CodecTrustedNetworks; len(nets) > 0 {
		if a.Config.CodecToken != "" {
			a.Log.Warn("VERIFLOW_CODEC_TRUSTED_NETWORKS is ignored: VERIFLOW_CODEC_TOKEN is set")
		} else {
			a.Log.Warn("codec server decodes for browsers on trusted networks without a token (local use only)", "networks", fmt.Sprint(nets))
		}
	}
	return api.New(api.Deps{Store: a.Store, Temporal: a.Temporal, Secrets: a.Secrets, Log: a.Log, Webhooks: wh,
		Policies: a.Config.Policies, Evidence: a.Evidence, Prices: a.Config.Prices,
		Guard:   guard.New(a.Store, a.Config.Abuse.PolicyFor, a.Log),
		Fraud:   fraud.New(a.Store, a.Config.Abuse.FraudFor),
		Metrics: a.Metrics, MetricsHandler: a.MetricsHandler(), Admission: a.Admission,
		UnsentStarts: a.Config.TenantUnsentStarts, Share: a.Share,
		Capacity: api.Admission{MaxInFlight: a.Config.MaxInFlight, QueueWait: a.Config.QueueWait},
		Codec: codec.NewServer(a.PayloadKeys, codec.ServerOptions{Token: a.Config.CodecToken, AllowedOrigins: a.Config.CodecOrigins,
			TrustedNetworks: a.Config.CodecTrustedNetworks}),
		Keys: a.Keys})
}

// ServeAPI serves the API on ln until ctx is done, then drains in-flight
// requests within the shutdown timeout.
func (a *App) ServeAPI(ctx context.Context, ln net.Listener) error {
	return a.ServeHandler(ctx, ln, a.Handler())
}

// ServeHandler serves h — the API, possibly wrapped (a test counting
// requests) — on ln as ServeAPI does.
// It also runs the API-key cache's listener, which the cache needs to
// serve anything.
func (a *App) ServeHandler(ctx context.Context, ln net.Listener, h http.Handler) error {
	if a.Keys != nil {
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = a.Keys.Run(lctx, a.Store) // nil when lctx ends; failures are logged and retried
		}()
		defer func() { cancel(); <-done }()
	}
	return serveHTTP(ctx, ln, h, a.Config.ShutdownTimeout, a.Log)
}

// serveHTTP serves h on ln until ctx is done, then stops accepting and
// waits for in-flight requests, at most drain long.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, drain time.Duration, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("api listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: %w", err)
	}
	return nil
}

// every runs f every interval until ctx is done.
func every(ctx context.Context, interval time.Duration, f func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}

// MetricsHandler serves the process's metrics in the Prometheus format.
func (a *App) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{Registry: a.Registry})
}
