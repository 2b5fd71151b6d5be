// Command veriflow is Veriflow's single binary.
//
//	veriflow dev                  run everything locally (Temporal dev server, Postgres, worker, API)
//	veriflow api                  run the HTTP API
//	veriflow worker               run the Temporal worker
//	veriflow migrate              apply database migrations
//	veriflow apikey create        create an API key (--tenant, --mode test|live)
//	veriflow apikey revoke ID     revoke an API key
//	veriflow tenant set-callback  register a tenant's event callback URL (--tenant, --url)
//
// Configuration comes from environment variables (see README.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/veriflow/veriflow/apikey"
	"github.com/veriflow/veriflow/codec"
	"github.com/veriflow/veriflow/config"
	"github.com/veriflow/veriflow/contract"
	"github.com/veriflow/veriflow/evidence"
	"github.com/veriflow/veriflow/internal/app"
	"github.com/veriflow/veriflow/otp"
	"github.com/veriflow/veriflow/outbound"
	"github.com/veriflow/veriflow/store"
)

const usage = `veriflow — durable phone and email verification on Temporal

Usage:
  veriflow dev                               run the whole service locally (embedded Temporal dev server,
                                             throwaway Postgres, sandbox provider) and print a test API key
  veriflow api                               run the HTTP API
  veriflow worker                            run the Temporal worker
  veriflow migrate                           apply the database migrations
  veriflow apikey create --tenant T [--mode test|live]
                                             create an API key (and the tenant) and print it once
  veriflow apikey revoke KEY_ID              revoke an API key
  veriflow tenant set-callback --tenant T --url U
                                             register (or replace) a tenant's event callback URL and
                                             print its new signing secret once
  veriflow evidence verify FILE --keys KEYS  check a signature's evidence offline against the public
                                             keys (the body of GET /v1/keys saved to a file)
  veriflow evidence keygen                   print a new evidence signing key for VERIFLOW_EVIDENCE_KEYS
  veriflow codec keygen                      print a new payload encryption key for VERIFLOW_PAYLOAD_KEYS

Configuration is read from the environment; see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "veriflow:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(out, usage)
		return nil
	}
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, cfg, args[1:], out)
	case "api":
		return serve(ctx, cfg, true, false)
	case "worker":
		return serve(ctx, cfg, false, true)
	case "migrate":
		return withStore(ctx, cfg, func(s *store.Store) error {
			if err := s.Migrate(ctx); err != nil {
				return err
			}
			fmt.Fprintln(out, "migrations applied")
			return nil
		})
	case "apikey":
		return runAPIKey(ctx, cfg, args[1:], out)
	case "tenant":
		return runTenant(ctx, cfg, args[1:], out)
	case "evidence":
		return runEvidence(args[1:], out)
	case "codec":
		if len(args) != 2 || args[1] != "keygen" {
			return errors.New("usage: veriflow codec keygen")
		}
		kid, key, err := codec.GenerateKey(time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "VERIFLOW_PAYLOAD_KEYS=%s:%s\n# to rotate, put a new key first and keep the old ones after it\n", kid, key)
		return nil
	}
	return fmt.Errorf("unknown command %q (try veriflow --help)", args[0])
}

func runEvidence(args []string, out io.Writer) error {
	const usage = "usage: veriflow evidence verify FILE --keys KEYS.json | veriflow evidence keygen"
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "keygen":
		kid, seed, err := evidence.GenerateKey(time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "VERIFLOW_EVIDENCE_KEYS=%s:%s\n# to rotate, put a new key first and keep the old ones after it\n", kid, seed)
		return nil
	case "verify":
		fs := flag.NewFlagSet("evidence verify", flag.ContinueOnError)
		keys := fs.String("keys", "", "public keys file (the body of GET /v1/keys)")
		var file string
		rest := args[1:]
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			file, rest = rest[0], rest[1:]
		}
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if file == "" && fs.NArg() == 1 {
			file = fs.Arg(0)
		}
		if file == "" || *keys == "" {
			return errors.New(usage)
		}
		r, err := evidence.VerifyFile(file, *keys)
		if err != nil {
			return fmt.Errorf("evidence NOT valid: %w", err)
		}
		fmt.Fprintf(out, "evidence valid\n  verification %s (tenant %s, %s)\n  document     %q sha256 %s\n  signer       %s %s via %s\n  approved at  %s\n",
			r.VerificationID, r.TenantID, r.Kind, r.Document.Title, r.Document.SHA256,
			r.Destination.Type, r.Destination.Masked, r.Channel, r.ApprovedAt.Format(time.RFC3339))
		return nil
	}
	return fmt.Errorf("unknown evidence command %q", args[0])
}

func withStore(ctx context.Context, cfg config.Config, f func(*store.Store) error) error {
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is required")
	}
	s, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer s.Close()
	return f(s)
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

func runAPIKey(ctx context.Context, cfg config.Config, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: veriflow apikey create --tenant T [--mode test|live] | veriflow apikey revoke KEY_ID")
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
		tenant := fs.String("tenant", "", "tenant id (created if missing)")
		mode := fs.String("mode", "test", "key mode: test (sandbox only) or live")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *tenant == "" || !contract.Mode(*mode).Valid() {
			return errors.New("apikey create needs --tenant and --mode test|live")
		}
		return withStore(ctx, cfg, func(s *store.Store) error {
			k, err := createKey(ctx, s, *tenant, contract.Mode(*mode), "")
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "tenant:  %s\nmode:    %s\nkey id:  %s\napi key: %s\n(the key is shown once; only its hash is stored)\n", *tenant, *mode, k.ID, k)
			return nil
		})
	case "revoke":
		if len(args) != 2 {
			return errors.New("usage: veriflow apikey revoke KEY_ID")
		}
		id := args[1]
		if k, err := apikey.Parse(id); err == nil {
			id = k.ID // a full key works too
		}
		return withStore(ctx, cfg, func(s *store.Store) error {
			if err := s.RevokeAPIKey(ctx, id); err != nil {
				return fmt.Errorf("revoke %s: %w", id, err)
			}
			fmt.Fprintf(out, "revoked %s\n", id)
			return nil
		})
	}
	return fmt.Errorf("unknown apikey command %q", args[0])
}

// createKey stores a key for tenant: fixed (a full key string) or random.
func createKey(ctx context.Context, s *store.Store, tenant string, mode contract.Mode, fixed string) (apikey.Key, error) {
	k := apikey.Generate(mode)
	if fixed != "" {
		var err error
		if k, err = apikey.Parse(fixed); err != nil {
			return k, fmt.Errorf("VERIFLOW_DEV_API_KEY: %w (expected vf_test_<12 alphanumerics>_<secret>)", err)
		}
	}
	if err := s.EnsureTenant(ctx, tenant, tenant); err != nil {
		return k, err
	}
	if err := s.CreateAPIKey(ctx, store.APIKey{ID: k.ID, TenantID: tenant, Mode: k.Mode, SecretHash: apikey.Hash(k.Secret)}); err != nil {
		return k, err
	}
	return k, nil
}

func runTenant(ctx context.Context, cfg config.Config, args []string, out io.Writer) error {
	const use = "usage: veriflow tenant set-callback --tenant T --url U"
	if len(args) == 0 || args[0] != "set-callback" {
		return errors.New(use)
	}
	fs := flag.NewFlagSet("tenant set-callback", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "tenant id (must exist)")
	u := fs.String("url", "", "callback URL (https; http only to localhost)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *tenant == "" || fs.NArg() != 0 {
		return errors.New(use)
	}
	if err := outbound.ValidateURL(*u); err != nil {
		return fmt.Errorf("--url %w", err)
	}
	secrets, err := otp.New(cfg.CodeSecret)
	if err != nil {
		return err
	}
	secret := outbound.NewSecret()
	sealed, err := secrets.Seal([]byte(secret), outbound.SecretAAD(*tenant))
	if err != nil {
		return err
	}
	return withStore(ctx, cfg, func(s *store.Store) error {
		if err := s.SetCallback(ctx, *tenant, *u, sealed); err != nil {
			return fmt.Errorf("set callback of %s: %w", *tenant, err)
		}
		fmt.Fprintf(out, "tenant:   %s\ncallback: %s\nsecret:   %s\n(the secret is shown once; verify Veriflow-Signature with it)\n", *tenant, *u, secret)
		return nil
	})
}
