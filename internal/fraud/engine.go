package fraud

import (
	"context"
	"fmt"
	"time"
)

// Counter counts a start under its keys and returns the keys' counters,
// the start included; store.Store is one (Postgres, atomic per key).
type Counter interface {
	ObserveStart(ctx context.Context, in Observe) (Observation, error)
}

// Observe is one start to count.
type Observe struct {
	Tenant string
	// Keys are the keys' stored forms (Keys.Strings).
	Keys []string
	// IP, Country and DestinationHash feed the per-IP distinct counts
	// (IP "": none).
	IP, Country, DestinationHash string
	At                           time.Time
}

// Engine assesses starts: it counts each under its keys and decides.
type Engine struct {
	c        Counter
	settings func(tenant string) Settings
}

// New returns an Engine counting with c and reading each tenant's settings
// from settings (nil: Defaults for everyone; unset fields take the
// defaults).
func New(c Counter, settings func(tenant string) Settings) *Engine {
	if settings == nil {
		settings = func(string) Settings { return Defaults() }
	}
	return &Engine{c: c, settings: settings}
}

// Settings returns a tenant's settings with the defaults filled in.
func (e *Engine) Settings(tenant string) Settings { return e.settings(tenant).Or(Defaults()) }

// Assess counts the start and decides. A start with no keys (an email
// without a client IP) is allowed uncounted.
func (e *Engine) Assess(ctx context.Context, s Start) (Risk, error) {
	set := e.Settings(s.Tenant)
	if s.Keys.Empty() {
		return Risk{Decision: Allow, Mode: set.Mode, Reasons: []Reason{}}, nil
	}
	ip, _ := s.Keys.Get(ScopeIP)
	o, err := e.c.ObserveStart(ctx, Observe{Tenant: s.Tenant, Keys: s.Keys.Strings(), IP: ip,
		Country: s.Keys.Country, DestinationHash: s.DestinationHash, At: s.At})
	if err != nil {
		return Risk{}, fmt.Errorf("fraud: observe start: %w", err)
	}
	r := Decide(set, s.Keys, o)
	if r.Reasons == nil {
		r.Reasons = []Reason{}
	}
	return r, nil
}
