// Package config reads Veriflow's configuration from environment variables.
// Every setting is documented in the README's configuration reference.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/veriflow/veriflow/internal/fraud"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/policy"
)

// Config is the runtime configuration of the api and worker processes.
type Config struct {
	// HTTPAddr is where the API listens (VERIFLOW_HTTP_ADDR).
	HTTPAddr string
	// DatabaseURL is the Postgres URL (DATABASE_URL).
	DatabaseURL string
	// TemporalAddress is the Temporal frontend host:port (TEMPORAL_ADDRESS).
	TemporalAddress string
	// TemporalNamespace is the Temporal namespace (TEMPORAL_NAMESPACE).
	TemporalNamespace string
	// CodeSecret derives codes, code hashes and sandbox sealing keys
	// (VERIFLOW_CODE_SECRET, at least 32 bytes). API and worker must share it.
	CodeSecret []byte
	// ShutdownTimeout bounds graceful shutdown (VERIFLOW_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// LogLevel and LogFormat (json or text) configure slog
	// (VERIFLOW_LOG_LEVEL, VERIFLOW_LOG_FORMAT).
	LogLevel  slog.Level
	LogFormat string
	// Providers is the delivery configuration (Twilio, Meta, SMTP).
	Providers Providers
	// Policies are the per-deployment and per-tenant policy overrides of
	// each kind (config file only).
	Policies policy.Config
	// EvidenceKeys are the Ed25519 keys signing signature evidence,
	// "kid:base64seed,…", the first one active (VERIFLOW_EVIDENCE_KEYS).
	EvidenceKeys string
	// PayloadKeys are the AES-256 keys encrypting Temporal payloads,
	// "kid:base64key,…", the first one encrypting (VERIFLOW_PAYLOAD_KEYS).
	PayloadKeys string
	// CodecToken authenticates the codec server (VERIFLOW_CODEC_TOKEN);
	// without it only callers from CodecOrigins over loopback or from
	// CodecTrustedNetworks are served.
	CodecToken string
	// CodecOrigins are the Temporal UI origins allowed to call the codec
	// server (VERIFLOW_CODEC_ORIGINS, comma separated).
	CodecOrigins []string
	// CodecTrustedNetworks are source networks whose requests with an
	// allowed Origin the codec server accepts without a token, like
	// loopback ones (VERIFLOW_CODEC_TRUSTED_NETWORKS, comma-separated
	// CIDRs): docker-compose's bridge networks, for local use only.
	CodecTrustedNetworks []netip.Prefix
	// Abuse holds the rate limits and fraud guards (config file only).
	Abuse Abuse
	// Branding holds the tenants' display names and SMS autofill settings
	// from the config file, and the default name (VERIFLOW_BRAND).
	Branding Branding
	// MetricsAddr is where a worker-only process serves /metrics
	// (VERIFLOW_METRICS_ADDR; the API serves /metrics on its own address).
	MetricsAddr string
	// Prices is the price table of the cost analytics (config file only).
	Prices Prices
	// TenantStartsInFlight bounds each tenant's starts in flight in one
	// API replica; the excess is answered 429 with Retry-After
	// (VERIFLOW_TENANT_STARTS_IN_FLIGHT; 0: no bound).
	TenantStartsInFlight int
	// TenantUnsentStarts bounds each tenant's verifications started but
	// not sent yet, counted in Postgres so every replica shares it; the
	// excess is answered 429 with Retry-After
	// (VERIFLOW_TENANT_UNSENT_STARTS; 0: no bound).
	TenantUnsentStarts int
	// UnsentStartsGlobal is the share rule's bound on the verifications
	// of all tenants started but not sent yet: at or above it, a tenant
	// holding its max-min fair share of it is answered 429 with
	// Retry-After, and a tenant under its share is admitted
	// (VERIFLOW_UNSENT_STARTS_GLOBAL; 0: off).
	UnsentStartsGlobal int
	// MaxInFlight bounds the starts and checks one API process works on at
	// once; past it a request waits up to QueueWait for a slot, then gets
	// 503 with Retry-After (VERIFLOW_API_MAX_IN_FLIGHT, 0: the default api.DefaultMaxInFlight, 64,
	// negative: unbounded; VERIFLOW_API_QUEUE_WAIT, default 250ms).
	MaxInFlight int
	QueueWait   time.Duration
	// APIKeyCacheTTL bounds how long an API replica serves an API key
	// from its cache (VERIFLOW_API_KEY_CACHE_TTL, default 30s, where "0"
	// turns the cache off; here 0 is the default and negative is off).
	// Revocations reach the cache at once through Postgres NOTIFY; the TTL
	// is the safety net (internal/keycache).
	APIKeyCacheTTL time.Duration
	// APIKeyCacheSize bounds the keys one replica caches
	// (VERIFLOW_API_KEY_CACHE_SIZE; 0: the default 10000).
	APIKeyCacheSize int
	// TestDropFirstReceiptSignal is a fault injection for the chaos test
	// only (VERIFLOW_TEST_DROP_FIRST_RECEIPT_SIGNAL=1): the first signal of
	// every stored receipt is dropped, so only the receipt relay delivers
	// receipts. Never set it in production.
	TestDropFirstReceiptSignal bool
}

// FromEnv reads the configuration with getenv (os.Getenv in production).
// Missing secrets are reported by Validate, so that `dev` can fill them in.
func FromEnv(getenv func(string) string) (Config, error) {
	f, err := readFile(getenv)
	if err != nil {
		return Config{}, err
	}
	getenv = f.lookup(getenv)
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		HTTPAddr:          get("VERIFLOW_HTTP_ADDR", "127.0.0.1:8080"),
		DatabaseURL:       get("DATABASE_URL", ""),
		TemporalAddress:   get("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace: get("TEMPORAL_NAMESPACE", "default"),
		CodeSecret:        []byte(getenv("VERIFLOW_CODE_SECRET")),
		LogFormat:         get("VERIFLOW_LOG_FORMAT", "json"),
		EvidenceKeys:      getenv("VERIFLOW_EVIDENCE_KEYS"),
		PayloadKeys:       getenv("VERIFLOW_PAYLOAD_KEYS"),
		CodecToken:        getenv("VERIFLOW_CODEC_TOKEN"),
		MetricsAddr:       get("VERIFLOW_METRICS_ADDR", ""),

		TestDropFirstReceiptSignal: get("VERIFLOW_TEST_DROP_FIRST_RECEIPT_SIGNAL", "") == "1",
	}
	for _, o := range strings.Split(get("VERIFLOW_CODEC_ORIGINS", ""), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CodecOrigins = append(c.CodecOrigins, o)
		}
	}
	var errs []error
	if c.CodecTrustedNetworks, err = parseNetworks(get("VERIFLOW_CODEC_TRUSTED_NETWORKS", "")); err != nil {
		errs = append(errs, fmt.Errorf("VERIFLOW_CODEC_TRUSTED_NETWORKS: %w", err))
	}
	if c.Providers, err = providersFromEnv(func(k string) string { return get(k, "") }, f.routes()); err != nil {
		errs = append(errs, err)
	}
	c.Policies = f.policies()
	c.Abuse = f.abuse()
	if m := get("VERIFLOW_FRAUD_MODE", ""); m != "" {
		c.Abuse.Fraud.Mode = fraud.Mode(m)
	}
	errs = append(errs, c.Abuse.validate()...)
	if c.Branding, err = f.branding(get); err != nil {
		errs = append(errs, err)
	}
	if c.Prices, err = f.prices(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Policies.Validate()...)
	if c.MaxInFlight, err = strconv.Atoi(get("VERIFLOW_API_MAX_IN_FLIGHT", "0")); err != nil {
		errs = append(errs, fmt.Errorf("VERIFLOW_API_MAX_IN_FLIGHT: %w", err))
	}
	if c.QueueWait, err = time.ParseDuration(get("VERIFLOW_API_QUEUE_WAIT", "250ms")); err != nil {
		errs = append(errs, fmt.Errorf("VERIFLOW_API_QUEUE_WAIT: %w", err))
	}
	if c.APIKeyCacheTTL, err = time.ParseDuration(get("VERIFLOW_API_KEY_CACHE_TTL", "30s")); err != nil || c.APIKeyCacheTTL < 0 {
		errs = append(errs, fmt.Errorf("VERIFLOW_API_KEY_CACHE_TTL: want a duration ≥ 0 (0: no cache), not %q", get("VERIFLOW_API_KEY_CACHE_TTL", "30s")))
	} else if c.APIKeyCacheTTL == 0 {
		c.APIKeyCacheTTL = -1 // off
	}
	if c.APIKeyCacheSize, err = strconv.Atoi(get("VERIFLOW_API_KEY_CACHE_SIZE", "10000")); err != nil || c.APIKeyCacheSize < 1 {
		errs = append(errs, fmt.Errorf("VERIFLOW_API_KEY_CACHE_SIZE: want a number ≥ 1, not %q", get("VERIFLOW_API_KEY_CACHE_SIZE", "10000")))
	}
	if c.ShutdownTimeout, err = time.ParseDuration(get("VERIFLOW_SHUTDOWN_TIMEOUT", "20s")); err != nil {
		errs = append(errs, fmt.Errorf("VERIFLOW_SHUTDOWN_TIMEOUT: %w", err))
	}
	if c.TenantStartsInFlight, err = strconv.Atoi(get("VERIFLOW_TENANT_STARTS_IN_FLIGHT", "0")); err != nil || c.TenantStartsInFlight < 0 {
		errs = append(errs, fmt.Errorf("VERIFLOW_TENANT_STARTS_IN_FLIGHT: want a number ≥ 0, not %q", get("VERIFLOW_TENANT_STARTS_IN_FLIGHT", "0")))
	}
	if c.TenantUnsentStarts, err = strconv.Atoi(get("VERIFLOW_TENANT_UNSENT_STARTS", "0")); err != nil || c.TenantUnsentStarts < 0 {
		errs = append(errs, fmt.Errorf("VERIFLOW_TENANT_UNSENT_STARTS: want a number ≥ 0, not %q", get("VERIFLOW_TENANT_UNSENT_STARTS", "0")))
	}
	if c.UnsentStartsGlobal, err = strconv.Atoi(get("VERIFLOW_UNSENT_STARTS_GLOBAL", "0")); err != nil || c.UnsentStartsGlobal < 0 {
		errs = append(errs, fmt.Errorf("VERIFLOW_UNSENT_STARTS_GLOBAL: want a number ≥ 0, not %q", get("VERIFLOW_UNSENT_STARTS_GLOBAL", "0")))
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("VERIFLOW_LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("VERIFLOW_LOG_LEVEL: %w", err))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("VERIFLOW_LOG_FORMAT: must be json or text, not %q", c.LogFormat))
	}
	return c, errors.Join(errs...)
}

// parseNetworks parses comma-separated CIDRs ("172.16.0.0/12,
// 192.168.0.0/16"). A bare address and a prefix of every address (/0) are
// refused: the list grants token-free access, so it must be deliberate.
func parseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 172.16.0.0/12: %w", f, err)
		}
		if p.Bits() == 0 {
			return nil, fmt.Errorf("%q trusts every address: set VERIFLOW_CODEC_TOKEN instead", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Validate reports settings the api and worker cannot run without.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required"))
	}
	if len(c.CodeSecret) < otp.MinSecretLen {
		errs = append(errs, fmt.Errorf("VERIFLOW_CODE_SECRET must have at least %d bytes (try: openssl rand -hex 32)", otp.MinSecretLen))
	}
	if c.PayloadKeys == "" {
		errs = append(errs, errors.New("VERIFLOW_PAYLOAD_KEYS is required (try: veriflow codec keygen)"))
	}
	if c.EvidenceKeys == "" {
		errs = append(errs, errors.New("VERIFLOW_EVIDENCE_KEYS is required (try: veriflow evidence keygen)"))
	}
	return errors.Join(errs...)
}

// String describes the configuration without its secrets.
func (c Config) String() string {
	return fmt.Sprintf("http=%s temporal=%s namespace=%s database=%s code_secret=[%d bytes] public_base_url=%s channels=%v tenant_routes=%d",
		c.HTTPAddr, c.TemporalAddress, c.TemporalNamespace, redactURL(c.DatabaseURL), len(c.CodeSecret),
		c.Providers.PublicBaseURL, c.Providers.Channels, len(c.Providers.Tenants))
}

// redactURL hides a password in a database URL.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "[set]"
	}
	creds, host, ok := strings.Cut(rest, "@")
	if !ok {
		return u
	}
	user, _, _ := strings.Cut(creds, ":")
	return scheme + "://" + user + ":***@" + host
}
