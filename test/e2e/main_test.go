// Package e2e runs Veriflow end to end: the HTTP API and the worker in
// process, against a real Temporal dev server (the pinned CLI) and a real
// PostgreSQL, through HTTP only — as a product backend would use it.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/client"
	"github.com/veriflow/veriflow/internal/apikey"
	"github.com/veriflow/veriflow/internal/app"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/devstack"
	"github.com/veriflow/veriflow/internal/fraud"
	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/localpg"
	"github.com/veriflow/veriflow/internal/prismtest"
	"go.temporal.io/sdk/interceptor"
)

// stack is the running service shared by the package's tests.
type stack struct {
	app *app.App
	// server is the service and its dependencies; server.URL is the API.
	server *devstack.Stack
	// keys: tenant "acme" (test and live), tenant "globex" (test)
	acme, acmeLive, globex string
	revoked                string
	// initech is a live tenant routed through the fake providers.
	initech string
	// failco is a live tenant whose WhatsApp route is "meta,twilio".
	failco string
	// limited is a test tenant with the default rate limits and a country
	// allow-list (the other tenants' limits are lifted for the suite).
	limited string
	fakes   *fakeProviders
	// logs captures everything the API and worker log; dbURL is their database.
	logs  *prismtest.SyncBuffer
	dbURL string
	// slowCancels slows chosen workflows' cancel updates down.
	slowCancels *slowCancels
}

var (
	env     *stack
	skipMsg string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		skipMsg = "integration tests skipped in -short mode"
		return m.Run()
	}
	ctx := context.Background()
	logs := &prismtest.SyncBuffer{}
	var logOut io.Writer = logs
	if os.Getenv("VERIFLOW_E2E_LOG") != "" {
		logOut = io.MultiWriter(logs, os.Stderr)
	}
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))

	slow := newSlowCancels()
	fakes := newFakeProviders()
	defer fakes.server.Close()
	// VERIFLOW_E2E_TEMPORAL_ADDRESS runs the suite against an existing
	// Temporal (the production topology: scripts/temporal-on-postgres.sh).
	dev, err := devstack.Start(ctx, devstack.Options{
		DatabaseURL: os.Getenv("DATABASE_URL"), TemporalAddress: os.Getenv("VERIFLOW_E2E_TEMPORAL_ADDRESS"),
		Config: config.Config{CodecToken: codecToken, Abuse: abuseConfig(), TenantStartsInFlight: 200, TenantUnsentStarts: 200, UnsentStartsGlobal: 250},
		// Providers must know the public URL of the API's webhooks.
		Configure: func(c *config.Config, apiURL string) {
			c.Providers = providerConfig(apiURL, fakes.server.URL)
			c.PayloadKeys = payloadKeys(c.PayloadKeys)
		},
		ProviderHTTPClient: fakes.client(),
		WorkerInterceptors: []interceptor.WorkerInterceptor{slow},
		Log:                log,
	})
	switch {
	case errors.Is(err, localpg.ErrNoBinaries) && os.Getenv("VERIFLOW_REQUIRE_POSTGRES") != "1":
		skipMsg = "no PostgreSQL server binaries"
		return m.Run()
	case errors.Is(err, devstack.ErrNoTemporalCLI) && os.Getenv("VERIFLOW_REQUIRE_TEMPORAL") != "1":
		skipMsg = "no Temporal CLI (make temporal-cli)"
		return m.Run()
	case err != nil:
		fmt.Fprintln(os.Stderr, "e2e: stack:", err)
		return 1
	}
	defer func() {
		if err := dev.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stop:", err)
		}
	}()
	env = &stack{app: dev.App, server: dev, fakes: fakes, logs: logs, dbURL: dev.DatabaseURL, slowCancels: slow}
	for _, k := range []struct {
		dst    *string
		tenant string
		mode   contract.Mode
	}{{&env.acme, "acme", contract.ModeTest}, {&env.acmeLive, "acme", contract.ModeLive}, {&env.globex, "globex", contract.ModeTest}, {&env.revoked, "acme", contract.ModeTest},
		{&env.initech, "initech", contract.ModeLive}, {&env.limited, "limited", contract.ModeTest},
		{&env.failco, "failco", contract.ModeLive}} {
		if *k.dst, err = dev.CreateKey(ctx, k.tenant, k.mode); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	if key, err := apikey.Parse(env.revoked); err != nil || dev.App.Store.RevokeAPIKey(ctx, key.ID) != nil {
		fmt.Fprintln(os.Stderr, "e2e: revoke failed")
		return 1
	}
	return m.Run()
}

func need(t *testing.T) *stack {
	t.Helper()
	if env == nil {
		t.Skip(skipMsg)
	}
	return env
}

// response is a decoded HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r response) verification(t *testing.T) verification {
	t.Helper()
	var v verification
	r.decode(t, &v)
	return v
}

func (r response) problem(t *testing.T) problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q for %d %s", ct, r.Status, r.Body)
	}
	var p problem
	r.decode(t, &p)
	return p
}

// call sends a request with key; body may be a string (sent raw) or a value
// (sent as JSON).
func (s *stack) call(t *testing.T, method, path, key string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.server.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// verification mirrors the contract's verification object.
type verification struct {
	ID          string            `json:"id"`
	Kind        string            `json:"kind"`
	Status      string            `json:"status"`
	To          map[string]string `json:"to"`
	Channel     *string           `json:"channel"`
	ChecksLeft  int               `json:"checks_left"`
	CreatedAt   time.Time         `json:"created_at"`
	ExpiresAt   time.Time         `json:"expires_at"`
	CompletedAt *time.Time        `json:"completed_at"`
	Attempts    []struct {
		Channel string     `json:"channel"`
		Status  string     `json:"status"`
		Error   string     `json:"error"`
		SentAt  *time.Time `json:"sent_at"`
	} `json:"attempts"`
	Metadata map[string]string `json:"metadata"`
	Risk     *struct {
		Decision string `json:"decision"`
		Mode     string `json:"mode"`
		Reasons  []struct {
			Signal string `json:"signal"`
			Scope  string `json:"scope"`
		} `json:"reasons"`
	} `json:"risk"`
}

type problem struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Status     int    `json:"status"`
	Detail     string `json:"detail"`
	Code       string `json:"code"`
	ChecksLeft *int   `json:"checks_left"`
	Errors     []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func (p problem) fields() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// start starts a verification and fails the test unless it is created.
func (s *stack) start(t *testing.T, key string, body map[string]any) verification {
	t.Helper()
	r := s.call(t, "POST", "/v1/verifications", key, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	return r.verification(t)
}

// poll calls get until cond holds on its result, failing after timeout.
func poll[T any](t *testing.T, timeout time.Duration, what string, get func() T, cond func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last T
	for time.Now().Before(deadline) {
		if last = get(); cond(last) {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last state %+v", what, last)
	return last
}

// waitFor polls GET until cond holds, failing after timeout.
func (s *stack) waitFor(t *testing.T, key, id string, timeout time.Duration, what string, cond func(verification) bool) verification {
	t.Helper()
	return poll(t, timeout, what, func() verification {
		r := s.call(t, "GET", "/v1/verifications/"+id, key, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("get: %d %s", r.Status, r.Body)
		}
		return r.verification(t)
	}, cond)
}

// sandboxCode reads the code of a verification from the sandbox, with the
// Go client.
func (s *stack) sandboxCode(t *testing.T, key, to, id string) string {
	t.Helper()
	msgs, err := client.New(s.server.URL, key, nil).SandboxMessages(t.Context(), to)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	for _, m := range msgs {
		if m.VerificationID == id {
			if !strings.Contains(m.Body, m.Code) {
				t.Fatalf("message body %q lacks its code", m.Body)
			}
			return m.Code
		}
	}
	t.Fatalf("no sandbox message for %s to %s", id, to)
	return ""
}

// payloadKeys returns fresh keys, or — when recording histories for the
// replay test — the test-only key those histories are encrypted with.
func payloadKeys(fresh string) string {
	if os.Getenv("VERIFLOW_RECORD_HISTORIES") == "" {
		return fresh
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "workflows", "testdata", "payload-keys.txt"))
	if err != nil {
		return fresh
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return line
		}
	}
	return fresh
}

// abuseConfig lifts the rate limits of the suite's tenants (they start many
// verifications to the sandbox numbers) and keeps the defaults, with a
// small prefix burst and a country allow-list, for tenant "limited".
func abuseConfig() config.Abuse {
	lifted := guard.Policy{Limits: guard.Limits{PerDestination10Min: 1e4, PerDestinationDay: 1e4, PerClientIP10Min: 1e4,
		PerTenantMinute: 1e5, FailedChecksPerDestinationHour: 1e4, PrefixBurst: 1e4}}
	return config.Abuse{Tenants: map[string]guard.Policy{
		"acme": lifted, "globex": lifted, "initech": lifted, "randompaths": lifted, "failco": lifted,
		"limited": {Limits: guard.Limits{PrefixBurst: 8}, AllowedCountries: []string{"IT", "US"}},
	},
		// The suite's live tenants reuse a few numbers and never enter most
		// codes: the fraud engine watches them in shadow mode; "riskpump"
		// and "riskscript" have it enforce (risk_test.go).
		Fraud: fraud.Settings{Mode: fraud.Shadow}, TenantFraud: map[string]fraud.Settings{"riskpump": {Mode: fraud.Enforce}, "riskscript": {Mode: fraud.Enforce}}}
}

// newTenantKey creates a fresh test-mode tenant (prefix plus a random
// suffix), so a test sees only its own verifications, and returns its key.
func (s *stack) newTenantKey(t *testing.T, prefix string) string {
	t.Helper()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	key, err := s.server.CreateKey(t.Context(), prefix+"_"+hex.EncodeToString(suffix), contract.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
