package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/veriflow/veriflow/internal/app"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/devstack"
)

// runDev runs the whole service on this machine: a Temporal dev server with
// the Web UI (unless TEMPORAL_ADDRESS is set), a throwaway Postgres (unless
// DATABASE_URL is set), the migrations, a test-mode API key, the worker and
// the API, with the Temporal Web UI on uiPort. Ctrl-C stops everything.
func runDev(ctx context.Context, cfg config.Config, uiPort int, getenv func(string) string, out io.Writer) error {
	started := time.Now()
	log := app.NewLogger(cfg)
	o := devstack.Options{DatabaseURL: cfg.DatabaseURL, HTTPAddr: cfg.HTTPAddr, Config: cfg, Log: log, Progress: out}
	uiURL := "(external Temporal: see its own UI)"
	if getenv("TEMPORAL_ADDRESS") != "" {
		o.TemporalAddress = cfg.TemporalAddress
	} else {
		tlogFile, err := createTemporalLog()
		if err != nil {
			return err
		}
		defer func() { _ = tlogFile.Close() }()
		o.DevServerAddr, o.UIPort, o.TemporalOutput = cfg.TemporalAddress, uiPort, tlogFile
	}
	s, err := devstack.Start(ctx, o)
	if errors.Is(err, devstack.ErrListen) {
		return fmt.Errorf("%w (set VERIFLOW_HTTP_ADDR)", err)
	}
	if err != nil {
		return err
	}
	defer func() {
		if err := s.Close(); err != nil {
			log.Warn("dev: stop", "error", err)
		}
	}()
	if s.UIURL != "" {
		uiURL = s.UIURL
	}
	key, err := createKey(ctx, s.App.Store, "dev", contract.ModeTest, getenv("VERIFLOW_DEV_API_KEY"))
	if err != nil {
		return err
	}

	fmt.Fprintf(out, `
Veriflow is ready (%.1fs).

  API          %s
  Temporal UI  %s   (payloads decoded through %s/codec)
  Test key     %s   (tenant "dev", test mode: sandbox only)

Try it:
  export VERIFLOW_KEY=%s
  curl -s %s/v1/verifications -H "Authorization: Bearer $VERIFLOW_KEY" \
       -H 'Content-Type: application/json' -d '{"kind":"signup","to":{"phone":"+15005550000"}}'

Press Ctrl-C to stop.
`, time.Since(started).Seconds(), s.URL, uiURL, s.URL, key, key, s.URL)

	err = s.Wait(ctx)
	slog.Info("stopped")
	return err
}

// createTemporalLog creates .dev/logs/temporal.log for the dev server's
// own log lines.
func createTemporalLog() (*os.File, error) {
	logDir := filepath.Join(".dev", "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("temporal log: %w", err)
	}
	f, err := os.Create(filepath.Join(logDir, "temporal.log"))
	if err != nil {
		return nil, fmt.Errorf("temporal log: %w", err)
	}
	return f, nil
}
