package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/veriflow/veriflow/internal/app"
	"github.com/veriflow/veriflow/internal/codec"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/devstack"
	"github.com/veriflow/veriflow/internal/evidence"
)

// runDev runs the whole service on this machine: a Temporal dev server with
// the Web UI (unless TEMPORAL_ADDRESS is set), a throwaway Postgres (unless
// DATABASE_URL is set), the migrations, a test-mode API key, the worker and
// the API, with the Temporal Web UI on uiPort. Ctrl-C stops everything.
func runDev(ctx context.Context, cfg config.Config, uiPort int, getenv func(string) string, out io.Writer) error {
	started := time.Now()
	log := app.NewLogger(cfg)
	step := func(format string, a ...any) { fmt.Fprintf(out, "==> "+format+"\n", a...) }

	// Bind the API first, so a busy port fails fast.
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w (set VERIFLOW_HTTP_ADDR)", cfg.HTTPAddr, err)
	}
	defer func() { _ = ln.Close() }() // ServeAPI closes it first; this covers early returns

	uiURL := "(external Temporal: see its own UI)"
	if getenv("TEMPORAL_ADDRESS") == "" {
		step("starting Temporal dev server (CLI %s) on %s", devstack.TemporalCLIVersion, cfg.TemporalAddress)
		logDir := filepath.Join(".dev", "logs")
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return err
		}
		tlogFile, err := os.Create(filepath.Join(logDir, "temporal.log"))
		if err != nil {
			return err
		}
		defer func() { _ = tlogFile.Close() }()
		t, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{Addr: cfg.TemporalAddress, UIPort: uiPort, Output: tlogFile, Log: log,
			CodecEndpoint: "http://" + ln.Addr().String() + "/codec"})
		if err != nil {
			return err
		}
		defer func() { step("stopping Temporal"); t.Stop() }()
		uiURL = t.UIURL
		// The UI decodes payloads through the API's codec server.
		cfg.CodecOrigins = append(cfg.CodecOrigins, t.UIURL, strings.Replace(t.UIURL, "127.0.0.1", "localhost", 1))
	}
	if cfg.DatabaseURL == "" {
		step("starting a throwaway Postgres")
		pg, err := devstack.StartPostgres(ctx, log)
		if err != nil {
			return err
		}
		defer func() { step("stopping Postgres"); _ = pg.Stop() }()
		cfg.DatabaseURL = pg.URL()
	}
	if cfg.PayloadKeys == "" {
		kid, key, err := codec.GenerateKey(time.Now())
		if err != nil {
			return err
		}
		cfg.PayloadKeys = kid + ":" + key
	}
	if cfg.EvidenceKeys == "" {
		kid, seed, err := evidence.GenerateKey(time.Now())
		if err != nil {
			return err
		}
		cfg.EvidenceKeys = kid + ":" + seed
	}
	if len(cfg.CodeSecret) == 0 {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		cfg.CodeSecret = []byte(hex.EncodeToString(b))
	}

	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := devstack.EnsureSearchAttributes(ctx, a.Temporal, cfg.TemporalNamespace); err != nil {
		return err
	}
	step("migrating the database")
	if err := a.Store.Migrate(ctx); err != nil {
		return err
	}
	key, err := createKey(ctx, a.Store, "dev", contract.ModeTest, getenv("VERIFLOW_DEV_API_KEY"))
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- a.RunWorker(ctx) }()
	go func() { errc <- a.ServeAPI(ctx, ln) }()

	apiURL := "http://" + ln.Addr().String()
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
`, time.Since(started).Seconds(), apiURL, uiURL, apiURL, key, key, apiURL)

	var first error
	for range 2 {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	slog.Info("stopped")
	return first
}
