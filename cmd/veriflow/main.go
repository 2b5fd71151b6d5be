// Command veriflow is Veriflow's single binary.
//
//	veriflow dev                  run everything locally (Temporal dev server, Postgres, worker, API)
//	veriflow api                  run the HTTP API
//	veriflow worker               run the Temporal worker
//	veriflow migrate              apply database migrations
//	veriflow apikey create        create an API key (--tenant, --mode test|live)
//	veriflow apikey revoke ID     revoke an API key
//	veriflow tenant set-callback  register a tenant's event callback URL (--tenant, --url)
//	veriflow evidence verify      check a signature's evidence offline (FILE --keys KEYS)
//	veriflow evidence keygen      print a new evidence signing key
//	veriflow codec keygen         print a new payload encryption key
//
// `veriflow help [command]` and `veriflow <command> --help` describe each
// command with its flags and examples. Configuration comes from environment
// variables (see README.md).
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/veriflow/veriflow/internal/app"
	"github.com/veriflow/veriflow/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// serve runs the API, the worker, or both until ctx is done.
func serve(ctx context.Context, cfg config.Config, withAPI, withWorker bool) error {
	log := app.NewLogger(cfg)
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	log.Info("veriflow starting", "config", cfg.String())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	n := 0
	if withWorker {
		n++
		go func() { errc <- a.RunWorker(ctx) }()
	}
	if withWorker && !withAPI && cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.MetricsHandler())
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", cfg.MetricsAddr, err)
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer func() { _ = srv.Close() }()
	}
	if withAPI {
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
		}
		n++
		go func() { errc <- a.ServeAPI(ctx, ln) }()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel() // one part failed: stop the others
		}
	}
	return first
}
