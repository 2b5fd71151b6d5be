// Package verify is Veriflow's use-case layer: start, check, resend and
// cancel a verification, read it and its evidence, read sandbox messages,
// manage a tenant's event callback and events, read analytics, and create
// and authenticate API keys. The HTTP API and the command line both call
// it; neither talks to the store or to Temporal for a use case itself.
//
// Every refusal is an *Error whose Kind says what a transport should
// answer (errors.As); a dependency failure is an Unavailable *Error that
// wraps its cause. Use cases talk to a verification's workflow through
// Temporal updates with one update id for all tries (update.go).
package verify

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/veriflow/veriflow/internal/admission"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/fraud"
	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/keycache"
	"github.com/veriflow/veriflow/internal/metrics"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/store"
)

// Deps are what the use cases need. A use case that does not touch a
// dependency works without it (the CLI's key commands need only Store).
type Deps struct {
	Store    *store.Store
	Temporal client.Client
	Secrets  *otp.Secrets
	Log      *slog.Logger
	// Guard enforces rate limits and fixed fraud guards (nil: none).
	Guard *guard.Guard
	// Fraud is the adaptive fraud engine (nil: none; every start allowed).
	Fraud *fraud.Engine
	// Metrics counts risk decisions (nil: none).
	Metrics *metrics.Metrics
	// UpdateTimeout bounds a synchronous call into a workflow, retries
	// included (default 10 s).
	UpdateTimeout time.Duration
	// Prices is the price table of the cost analytics (zero: all unpriced).
	Prices config.Prices
	// Admission bounds each tenant's starts in flight in this replica
	// (nil: no bound).
	Admission *admission.Limiter
	// UnsentStarts bounds each tenant's verifications started but not
	// sent yet, across replicas (0: no bound).
	UnsentStarts int
	// Keys caches authenticated API keys in this replica (nil: every
	// request reads its key from Postgres).
	Keys *keycache.Cache
	// Share refuses a tenant holding its fair share of the unsent starts
	// of all tenants when their total reaches a global bound (nil: off).
	Share *admission.Share
}

// Service runs the use cases.
type Service struct {
	d Deps
}

// New returns a Service.
func New(d Deps) *Service {
	if d.UpdateTimeout == 0 {
		d.UpdateTimeout = 10 * time.Second
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d}
}

// Tenant is an authenticated caller: the tenant and the mode of its key.
type Tenant struct {
	ID    string
	Mode  contract.Mode
	KeyID string
}

// Result is a verification as a use case leaves it: the read-model row
// and, when the workflow answered, its fresher live state.
type Result struct {
	Verification store.Verification
	Live         *contract.State
}

// Readiness tells which dependencies answer.
type Readiness struct {
	Postgres, Temporal bool
}

// Ready pings Postgres and Temporal.
func (s *Service) Ready(ctx context.Context) Readiness {
	r := Readiness{Postgres: true, Temporal: true}
	if err := s.d.Store.Ping(ctx); err != nil {
		r.Postgres = false
	}
	if _, err := s.d.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		r.Temporal = false
	}
	return r
}
