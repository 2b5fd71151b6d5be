package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/veriflow/veriflow/internal/codec"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/evidence"
	"github.com/veriflow/veriflow/internal/store"
)

// commands is the command table: every command's help and action.
func commands() []command {
	const needs = " It needs DATABASE_URL, TEMPORAL_ADDRESS, VERIFLOW_CODE_SECRET, VERIFLOW_PAYLOAD_KEYS and " +
		"VERIFLOW_EVIDENCE_KEYS (directly or through VERIFLOW_CONFIG_FILE)."
	return append([]command{
		{
			name: "dev", usage: "dev [--ui-port PORT]", config: true,
			summary: "run the whole service locally and print a test API key",
			desc: "Runs everything on this machine for development: a Temporal dev server with its Web UI " +
				"(unless TEMPORAL_ADDRESS is set), a throwaway Postgres (unless DATABASE_URL is set), the " +
				"migrations, the worker and the API on VERIFLOW_HTTP_ADDR. Missing secrets and keys are " +
				"generated; a test-mode API key of tenant \"dev\" is printed (VERIFLOW_DEV_API_KEY fixes it); " +
				"the Temporal UI decodes payloads through the API's codec server. Ctrl-C stops everything. " +
				"`make dev` builds the binary and the Temporal CLI first.",
			examples: []string{
				"veriflow dev",
				"VERIFLOW_HTTP_ADDR=127.0.0.1:9090 veriflow dev --ui-port 8234",
				"DATABASE_URL=postgres://veriflow@localhost/veriflow veriflow dev",
			},
			flags: func(fs *flag.FlagSet) action {
				uiPort := fs.Int("ui-port", 8233, "Temporal Web UI port")
				return func(ctx context.Context, e env, args []string) error {
					if len(args) != 0 {
						return usageError(fmt.Sprintf("unexpected argument %q", args[0]))
					}
					return runDev(ctx, e.cfg, *uiPort, e.getenv, e.out)
				}
			},
		},
		{
			name: "api", usage: "api", config: true,
			summary: "run the HTTP API",
			desc: "Serves the HTTP API — verifications, analytics, provider webhooks, /metrics, /openapi.json " +
				"and the codec server for the Temporal UI — on VERIFLOW_HTTP_ADDR until SIGINT or SIGTERM, " +
				"then drains in-flight requests within VERIFLOW_SHUTDOWN_TIMEOUT. It is stateless: run as " +
				"many replicas as load needs." + needs,
			examples: []string{
				"VERIFLOW_CONFIG_FILE=/etc/veriflow/config.json veriflow api",
				"VERIFLOW_HTTP_ADDR=0.0.0.0:8080 DATABASE_URL=postgres://veriflow@db/veriflow TEMPORAL_ADDRESS=temporal:7233 veriflow api",
			},
			flags: noFlags(func(ctx context.Context, e env) error { return serve(ctx, e.cfg, true, false) }),
		},
		{
			name: "worker", usage: "worker", config: true,
			summary: "run the Temporal worker",
			desc: "Runs the Temporal worker on the veriflow task queue — the verification and event " +
				"workflows, the delivery activities, and the receipt and event relays — until SIGINT or " +
				"SIGTERM, then lets running activities finish within VERIFLOW_SHUTDOWN_TIMEOUT. Workers " +
				"scale horizontally; a worker-only process serves /metrics on VERIFLOW_METRICS_ADDR when " +
				"set." + needs,
			examples: []string{
				"VERIFLOW_CONFIG_FILE=/etc/veriflow/config.json veriflow worker",
				"VERIFLOW_METRICS_ADDR=0.0.0.0:9090 veriflow worker",
			},
			flags: noFlags(func(ctx context.Context, e env) error { return serve(ctx, e.cfg, false, true) }),
		},
		{
			name: "migrate", usage: "migrate", config: true,
			summary: "apply the database migrations",
			desc: "Applies the database migrations to DATABASE_URL and exits. Runs may overlap (an advisory " +
				"lock serializes them) and repeat (applied migrations are skipped), so every deploy can " +
				"run it before starting the API and the worker.",
			examples: []string{"DATABASE_URL=postgres://veriflow@localhost/veriflow veriflow migrate"},
			flags: noFlags(func(ctx context.Context, e env) error {
				return withStore(ctx, e.cfg, func(s *store.Store) error {
					if err := s.Migrate(ctx); err != nil {
						return err
					}
					fmt.Fprintln(e.out, "migrations applied")
					return nil
				})
			}),
		},
		{
			name: "apikey", usage: "apikey <command> [flags]",
			summary: "manage API keys",
			desc: "Creates and revokes API keys. A key belongs to one tenant and is either test mode " +
				"(sandbox deliveries only) or live; only its hash is stored, so a new key is shown once. " +
				"Both commands need DATABASE_URL.",
			examples: []string{
				"veriflow apikey create --tenant acme --mode live",
				"veriflow apikey revoke 01HZX3K9QW2M",
			},
		},
		{
			name: "apikey create", usage: "apikey create --tenant TENANT [--mode test|live]", config: true,
			summary: "create an API key (and its tenant); print it once",
			desc: "Creates an API key for a tenant, creating the tenant if it does not exist yet, and prints " +
				"the key once: store it in your secret manager, Veriflow keeps only its hash. A test key " +
				"reaches only the sandbox provider; a live key sends real messages. Needs DATABASE_URL.",
			examples: []string{
				"veriflow apikey create --tenant acme",
				"veriflow apikey create --tenant acme --mode live",
			},
			flags: func(fs *flag.FlagSet) action {
				tenant := fs.String("tenant", "", "tenant id (created if missing)")
				mode := fs.String("mode", "test", "key mode: test (sandbox only) or live")
				return func(ctx context.Context, e env, args []string) error {
					if len(args) != 0 {
						return usageError(fmt.Sprintf("unexpected argument %q", args[0]))
					}
					if *tenant == "" || !contract.Mode(*mode).Valid() {
						return usageError("needs --tenant and --mode test|live")
					}
					return withStore(ctx, e.cfg, func(s *store.Store) error {
						k, err := createKey(ctx, s, *tenant, contract.Mode(*mode), "")
						if err != nil {
							return err
						}
						fmt.Fprintf(e.out, "tenant:  %s\nmode:    %s\nkey id:  %s\napi key: %s\n(the key is shown once; only its hash is stored)\n", *tenant, *mode, k.ID, k)
						return nil
					})
				}
			},
		},
		{
			name: "apikey revoke", usage: "apikey revoke KEY_ID", config: true,
			summary: "revoke an API key",
			desc: "Revokes an API key at once: requests with it get 401 from then on. KEY_ID is the key id " +
				"printed by apikey create (the full key works too). Needs DATABASE_URL.",
			examples: []string{"veriflow apikey revoke 01HZX3K9QW2M"},
			flags: func(*flag.FlagSet) action {
				return func(ctx context.Context, e env, args []string) error {
					if len(args) != 1 {
						return usageError("needs exactly one KEY_ID")
					}
					return revokeKey(ctx, e.cfg, args[0], e.out)
				}
			},
		},
		{
			name: "tenant", usage: "tenant <command> [flags]",
			summary: "manage tenants",
			desc: "Configures tenants. set-callback registers the URL that receives a tenant's signed " +
				"outbound events (verification state changes).",
			examples: []string{"veriflow tenant set-callback --tenant acme --url https://acme.example/hooks/veriflow"},
		},
		{
			name: "tenant set-callback", usage: "tenant set-callback --tenant TENANT --url URL", config: true,
			summary: "register a tenant's event callback URL; print its secret once",
			desc: "Registers the URL that receives the tenant's outbound events, replacing any earlier one, " +
				"and prints a new signing secret once: verify each event's Veriflow-Signature header with " +
				"it. The URL must be https (http only to localhost). Needs DATABASE_URL and " +
				"VERIFLOW_CODE_SECRET (the secret is stored sealed with it).",
			examples: []string{
				"veriflow tenant set-callback --tenant acme --url https://acme.example/hooks/veriflow",
				"veriflow tenant set-callback --tenant dev --url http://localhost:3000/events",
			},
			flags: func(fs *flag.FlagSet) action {
				tenant := fs.String("tenant", "", "tenant id (must exist)")
				u := fs.String("url", "", "callback URL (https; http only to localhost)")
				return func(ctx context.Context, e env, args []string) error {
					if *tenant == "" || *u == "" || len(args) != 0 {
						return usageError("needs --tenant and --url, and no other arguments")
					}
					return setCallback(ctx, e.cfg, *tenant, *u, e.out)
				}
			},
		},
		{
			name: "evidence", usage: "evidence <command> [flags]",
			summary: "signature evidence: verify offline, make signing keys",
			desc: "Works with the Ed25519-signed evidence that Veriflow issues when a signature " +
				"verification is approved: verify checks a record offline against the public keys, keygen " +
				"makes a signing key for VERIFLOW_EVIDENCE_KEYS. Neither needs a database.",
			examples: []string{
				"veriflow evidence verify evidence.json --keys keys.json",
				"export $(veriflow evidence keygen | head -1)",
			},
		},
		{
			name: "evidence verify", usage: "evidence verify FILE --keys KEYS",
			summary: "check a signature's evidence offline",
			desc: "Checks an evidence record (the evidence object of an approved signature verification, " +
				"saved to FILE) against Veriflow's public keys (the body of GET /v1/keys saved to KEYS), " +
				"without calling Veriflow, and prints what was signed, by whom and when. It exits 1 when " +
				"the record was altered or signed by an unknown key.",
			examples: []string{
				"curl -s https://veriflow.example/v1/keys > keys.json",
				"veriflow evidence verify evidence.json --keys keys.json",
			},
			flags: func(fs *flag.FlagSet) action {
				keys := fs.String("keys", "", "public keys file (the body of GET /v1/keys)")
				return func(_ context.Context, e env, args []string) error {
					if len(args) != 1 || *keys == "" {
						return usageError("needs one FILE and --keys")
					}
					return verifyEvidence(args[0], *keys, e.out)
				}
			},
		},
		{
			name: "evidence keygen", usage: "evidence keygen",
			summary: "print a new key for VERIFLOW_EVIDENCE_KEYS",
			desc: "Prints a new Ed25519 evidence signing key as a VERIFLOW_EVIDENCE_KEYS line. To rotate, " +
				"put the new key first and keep the old ones after it, so evidence they signed still " +
				"verifies.",
			examples: []string{"veriflow evidence keygen", "export $(veriflow evidence keygen | head -1)"},
			flags: noFlags(func(_ context.Context, e env) error {
				kid, seed, err := evidence.GenerateKey(time.Now())
				if err != nil {
					return err
				}
				fmt.Fprintf(e.out, "VERIFLOW_EVIDENCE_KEYS=%s:%s\n# to rotate, put a new key first and keep the old ones after it\n", kid, seed)
				return nil
			}),
		},
		{
			name: "codec", usage: "codec <command> [flags]",
			summary: "Temporal payload encryption keys",
			desc: "Manages the AES-256-GCM keys that encrypt every Temporal payload and failure message " +
				"(VERIFLOW_PAYLOAD_KEYS); the API decrypts them for the Temporal UI as a codec server.",
			examples: []string{"export $(veriflow codec keygen | head -1)"},
		},
		{
			name: "codec keygen", usage: "codec keygen",
			summary: "print a new key for VERIFLOW_PAYLOAD_KEYS",
			desc: "Prints a new AES-256 payload encryption key as a VERIFLOW_PAYLOAD_KEYS line. To rotate, " +
				"put the new key first and keep the old ones after it: the first key encrypts, all of " +
				"them decrypt, so recorded histories stay readable.",
			examples: []string{"veriflow codec keygen", "export $(veriflow codec keygen | head -1)"},
			flags: noFlags(func(_ context.Context, e env) error {
				kid, key, err := codec.GenerateKey(time.Now())
				if err != nil {
					return err
				}
				fmt.Fprintf(e.out, "VERIFLOW_PAYLOAD_KEYS=%s:%s\n# to rotate, put a new key first and keep the old ones after it\n", kid, key)
				return nil
			}),
		},
	}, whatsappCommands()...)
}

// noFlags makes the flags of a command that takes no flags and no
// arguments.
func noFlags(f func(context.Context, env) error) func(*flag.FlagSet) action {
	return func(*flag.FlagSet) action {
		return func(ctx context.Context, e env, args []string) error {
			if len(args) != 0 {
				return usageError(fmt.Sprintf("unexpected argument %q", args[0]))
			}
			return f(ctx, e)
		}
	}
}
