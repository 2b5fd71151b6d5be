package devstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/veriflow/veriflow/internal/app"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/localpg"
)

// Start brings the stack up: it binds the API's address, starts Temporal
// and PostgreSQL unless existing ones are named, opens the app with fresh
// keys, registers the search attributes, migrates the schema, runs the
// worker and the API, and waits until /readyz answers. ctx bounds the start
// only; the stack runs until Wait or Close. On error, whatever was started
// is stopped again.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	s := &Stack{progress: o.Progress, DatabaseURL: o.DatabaseURL, TemporalAddress: o.TemporalAddress}
	defer func() {
		if err != nil {
			_ = s.Close() // the start's error is the one to report
		}
	}()
	depLog := cmp.Or(o.DependencyLog, o.Log, slog.New(slog.DiscardHandler))

	addr := cmp.Or(o.HTTPAddr, "127.0.0.1:0")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrListen, addr, err)
	}
	s.onClose("", func() error { _ = ln.Close(); return nil }) // the API closes it first; this covers early returns
	s.URL = "http://" + ln.Addr().String()

	if s.TemporalAddress == "" {
		if err := s.startTemporal(ctx, o, depLog); err != nil {
			return nil, err
		}
	}
	if s.DatabaseURL == "" {
		s.step("starting a throwaway Postgres")
		pg, err := localpg.Start(ctx, localpg.Options{Logger: depLog})
		if err != nil {
			return nil, err
		}
		s.onClose("stopping Postgres", pg.Stop)
		s.DatabaseURL, s.PostgresPID = pg.URL(), pg.PID()
	}

	cfg, err := s.config(o)
	if err != nil {
		return nil, err
	}
	a, err := app.Open(ctx, cfg, cmp.Or(o.Log, slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	s.onClose("", func() error { a.Close(); return nil })
	s.App = a
	if o.ProviderHTTPClient != nil {
		a.ProviderHTTPClient = o.ProviderHTTPClient
	}
	a.WorkerInterceptors = o.WorkerInterceptors
	if err := EnsureSearchAttributes(ctx, a.Temporal, cfg.TemporalNamespace); err != nil {
		return nil, err
	}
	s.step("migrating the database")
	if err := a.Store.Migrate(ctx); err != nil {
		return nil, err
	}

	h := a.Handler()
	if o.HTTPHandler != nil {
		h = o.HTTPHandler(h)
	}
	s.run(ctx, func(ctx context.Context) error { return a.RunWorker(ctx) },
		func(ctx context.Context) error { return a.ServeHandler(ctx, ln, h) })
	if err := WaitHTTP(ctx, s.URL+"/readyz", 30*time.Second); err != nil {
		return nil, err
	}
	return s, nil
}

// startTemporal starts the dev server, with its UI decoding through the
// API's codec server when o.UIPort is set.
func (s *Stack) startTemporal(ctx context.Context, o Options, log *slog.Logger) error {
	s.step("starting Temporal dev server (CLI %s) on %s", TemporalCLIVersion, cmp.Or(o.DevServerAddr, "a free port"))
	t, err := StartTemporal(ctx, TemporalOptions{Addr: o.DevServerAddr, UIPort: o.UIPort, Output: o.TemporalOutput, Log: log,
		CodecEndpoint: s.URL + "/codec", Fairness: o.TemporalFairness})
	if err != nil {
		return err
	}
	s.onClose("stopping Temporal", func() error { t.Stop(); return nil })
	s.TemporalAddress, s.TemporalPID, s.UIURL = t.Addr, t.PID(), t.UIURL
	return nil
}

// config is o.Config completed for this stack.
func (s *Stack) config(o Options) (config.Config, error) {
	cfg := o.Config
	cfg.DatabaseURL, cfg.TemporalAddress = s.DatabaseURL, s.TemporalAddress
	cfg.TemporalNamespace = cmp.Or(cfg.TemporalNamespace, "default")
	cfg.ShutdownTimeout = cmp.Or(cfg.ShutdownTimeout, 5*time.Second)
	if s.UIURL != "" {
		// The UI decodes payloads through the API's codec server.
		cfg.CodecOrigins = append(cfg.CodecOrigins, s.UIURL, strings.Replace(s.UIURL, "127.0.0.1", "localhost", 1))
	}
	if err := fillSecrets(&cfg, time.Now()); err != nil {
		return cfg, err
	}
	if o.Configure != nil {
		o.Configure(&cfg, s.URL)
	}
	return cfg, nil
}

// run runs each part (the worker, the API) until Wait or Close.
func (s *Stack) run(ctx context.Context, parts ...func(context.Context) error) {
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopRunning, s.done, s.running = stop, make(chan error, len(parts)), len(parts)
	for _, part := range parts {
		go func() { s.done <- part(runCtx) }()
	}
}

// Wait blocks until ctx is done or the worker or the API stops on its own
// (it failed), then stops both and returns the first error.
func (s *Stack) Wait(ctx context.Context) error {
	if s.running == 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return s.stop(nil)
	case err := <-s.done:
		s.running--
		return s.stop(err)
	}
}

// stop stops the worker and the API and returns first, else the first
// error either reports.
func (s *Stack) stop(first error) error {
	if s.stopRunning != nil {
		s.stopRunning()
	}
	for ; s.running > 0; s.running-- {
		if err := <-s.done; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Close stops the worker and the API, closes the app, then stops
// PostgreSQL and Temporal if the stack started them. It returns the errors
// met on the way (the worker's or the API's included).
func (s *Stack) Close() error {
	errs := []error{s.stop(nil)}
	for i := len(s.closers) - 1; i >= 0; i-- {
		c := s.closers[i]
		if c.step != "" {
			s.step("%s", c.step)
		}
		errs = append(errs, c.fn())
	}
	s.closers = nil
	return errors.Join(errs...)
}

func (s *Stack) onClose(step string, fn func() error) {
	s.closers = append(s.closers, closer{step: step, fn: fn})
}

// step announces a step on the progress writer.
func (s *Stack) step(format string, a ...any) {
	if s.progress != nil {
		fmt.Fprintf(s.progress, "==> "+format+"\n", a...)
	}
}
