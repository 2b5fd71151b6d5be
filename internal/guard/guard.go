// Package guard is Veriflow's abuse policy: which phone numbers a tenant may
// send codes to, and the rate limits on starts and failed checks. It has no
// HTTP in it: a refusal is a *Refusal that the API maps to a response.
//
// Every limit is namespaced by tenant, so one tenant's traffic never spends
// another's budget. The one exception is a cross-tenant cap on starts to a
// single destination per day (see WithGlobalPerDestinationDay), which stops
// a person from being flooded with codes through many tenants at once (an
// "SMS bomber" drives the sign-up forms of many sites); it is set well above
// the per-tenant day limit and only counts live starts.
package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/veriflow/veriflow/internal/guard/limits"
	"github.com/veriflow/veriflow/internal/store"
)

// Limits are the rate limits of a tenant (see package limits).
type Limits = limits.Limits

// Policy is a tenant's abuse policy (see package limits).
type Policy = limits.Policy

// DefaultLimits returns the built-in limits.
func DefaultLimits() Limits { return limits.Default() }

// withDefaults fills the unset fields of l with the defaults.
func withDefaults(l Limits) Limits { return l.Or(DefaultLimits()) }

// DefaultPolicy is the policy of a tenant with no overrides.
func DefaultPolicy() Policy { return limits.DefaultPolicy() }

// DefaultGlobalPerDestinationDay is the default cross-tenant cap on live
// starts to one destination per day.
const DefaultGlobalPerDestinationDay = 50

// Refusal codes.
const (
	CodeRateLimited          = "rate_limited"
	CodeCountryNotAllowed    = "country_not_allowed"
	CodeNumberTypeNotAllowed = "number_type_not_allowed"
	CodePrefixVelocity       = "prefix_velocity"
)

const (
	fieldPhone = "to.phone"
	fieldEmail = "to.email"
)

// Refusal explains why a start or a check is refused; the caller maps it to
// HTTP (429 with Retry-After for the rate limits, 422 for the others).
type Refusal struct {
	// Code is one of the Code* constants.
	Code string
	// Detail is a client-safe explanation; it never holds a destination.
	Detail string
	// RetryAfter is how long to wait before trying again (whole seconds,
	// at least one) for rate limits; zero otherwise.
	RetryAfter time.Duration
	// Field is the request field at fault ("to.phone", "to.email"), if any.
	Field string
}

// Error implements error.
func (r *Refusal) Error() string {
	s := "guard: " + r.Code + ": " + r.Detail
	if r.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %v)", r.RetryAfter)
	}
	return s
}

// LimitStore spends and reads rate-limit budgets; *store.Store is one.
type LimitStore interface {
	Hit(ctx context.Context, hits []store.LimitHit) (store.LimitResult, error)
	Peek(ctx context.Context, hit store.LimitHit) (used int, retryAfter time.Duration, err error)
}

// Guard checks starts and checks against the tenants' policies.
type Guard struct {
	st       LimitStore
	policies func(tenant string) Policy
	log      *slog.Logger
	// globalPerDestinationDay is the cross-tenant cap; 0 disables it.
	globalPerDestinationDay int
}

// Option configures a Guard.
type Option func(*Guard)

// WithGlobalPerDestinationDay sets the cross-tenant cap on live starts to
// one destination (by keyed hash) per day; n ≤ 0 disables it. The default
// is DefaultGlobalPerDestinationDay.
func WithGlobalPerDestinationDay(n int) Option {
	return func(g *Guard) { g.globalPerDestinationDay = max(n, 0) }
}

// New returns a Guard that keeps its budgets in st and reads each tenant's
// policy from policies (nil: DefaultPolicy for everyone). log nil discards.
func New(st LimitStore, policies func(tenant string) Policy, log *slog.Logger, opts ...Option) *Guard {
	if policies == nil {
		policies = func(string) Policy { return DefaultPolicy() }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Guard{st: st, policies: policies, log: log, globalPerDestinationDay: DefaultGlobalPerDestinationDay}
	for _, o := range opts {
		o(g)
	}
	return g
}

// policy returns tenant's policy with its limits' defaults filled in.
func (g *Guard) policy(tenant string) Policy {
	p := g.policies(tenant)
	p.Limits = withDefaults(p.Limits)
	return p
}

// Limit scopes. A tenant's scope is name + ":" + tenant (names hold no
// colon, so that is unambiguous); the global ones are the bare name.
const (
	scopePhone10m     = "start.phone.10m"
	scopePhoneDay     = "start.phone.day"
	scopeEmail10m     = "start.email.10m"
	scopeEmailDay     = "start.email.day"
	scopeIP10m        = "start.ip.10m"
	scopeTenantMinute = "start.tenant.1m"
	scopePrefix5m     = "start.prefix.5m"
	scopeFailedHour   = "check.failed.1h"
	scopeGlobalPhone  = "global.start.phone.day"
	scopeGlobalEmail  = "global.start.email.day"
)

const day = 24 * time.Hour

func tenantScope(name, tenant string) string { return name + ":" + tenant }

// scopeName is the name part of a scope.
func scopeName(scope string) string {
	name, _, _ := strings.Cut(scope, ":")
	return name
}

// StartInfo describes a verification start.
type StartInfo struct {
	// Tenant is the tenant's id (required).
	Tenant string
	// Phone is the E.164 phone number, if any; it is used for the country,
	// type and prefix checks only and is never stored or logged whole.
	Phone string
	// PhoneHash and EmailHash are the hex keyed hashes of the destinations
	// ("" for none); budgets are keyed by them.
	PhoneHash, EmailHash string
	// ClientIP is the end user's IP as the tenant reported it, if any.
	ClientIP string
	// Sandbox marks a test-mode start: it spends the tenant's budgets like
	// a live one (so integrations can test their handling of refusals) but
	// not the cross-tenant one, since it sends nothing and a test key must
	// not be able to use up a real person's budget.
	Sandbox bool
	// TrustedPhone marks one of the contract's scripted sandbox numbers in
	// a test-mode start: the country and number-type checks do not apply.
	TrustedPhone bool
}

// AllowStart checks the phone number (CheckPhone) and spends the start
// budgets, all or nothing: per phone and per email destination (10 minutes
// and day), per client IP (if given), per tenant per minute, the prefix
// velocity (phone only) and the cross-tenant destination cap (live starts).
// It returns nil when the start may go ahead, a *Refusal when it may not
// (a rate limit: Code "rate_limited", or "prefix_velocity" for the velocity
// guard, which also logs a WARN with the tenant and the prefix, never the
// number), or an error when the store fails.
func (g *Guard) AllowStart(ctx context.Context, s StartInfo) (*Refusal, error) {
	if s.Tenant == "" {
		return nil, errors.New("guard: start without a tenant")
	}
	var prefix string
	if s.Phone != "" && !s.TrustedPhone {
		if r := g.CheckPhone(s.Tenant, s.Phone); r != nil {
			return r, nil
		}
		prefix, _ = phonePrefix(s.Phone) // parses: CheckPhone accepted it
	}
	l := g.policy(s.Tenant).Limits
	t := s.Tenant
	// The order sets which refusal is reported when several limits are
	// exceeded: the most specific first.
	var hits []store.LimitHit
	add := func(scope, key string, window time.Duration, maxHits int) {
		hits = append(hits, store.LimitHit{Scope: scope, Key: key, Window: window, Max: maxHits, Cost: 1})
	}
	phone, email := normHash(s.PhoneHash), normHash(s.EmailHash)
	if phone != "" {
		add(tenantScope(scopePhone10m, t), phone, 10*time.Minute, l.PerDestination10Min)
		add(tenantScope(scopePhoneDay, t), phone, day, l.PerDestinationDay)
	}
	if email != "" {
		add(tenantScope(scopeEmail10m, t), email, 10*time.Minute, l.PerDestination10Min)
		add(tenantScope(scopeEmailDay, t), email, day, l.PerDestinationDay)
	}
	if g.globalPerDestinationDay > 0 && !s.Sandbox {
		if phone != "" {
			add(scopeGlobalPhone, phone, day, g.globalPerDestinationDay)
		}
		if email != "" {
			add(scopeGlobalEmail, email, day, g.globalPerDestinationDay)
		}
	}
	if ip := normIP(s.ClientIP); ip != "" {
		add(tenantScope(scopeIP10m, t), ip, 10*time.Minute, l.PerClientIP10Min)
	}
	add(tenantScope(scopeTenantMinute, t), t, time.Minute, l.PerTenantMinute)
	if prefix != "" {
		add(tenantScope(scopePrefix5m, t), prefix, 5*time.Minute, l.PrefixBurst)
	}

	res, err := g.st.Hit(ctx, hits)
	if err != nil {
		return nil, fmt.Errorf("guard: start limits: %w", err)
	}
	if res.Allowed {
		return nil, nil
	}
	exceeded := res.Exceeded
	if len(exceeded) == 0 {
		exceeded = []string{res.Scope}
	}
	for _, sc := range exceeded {
		if scopeName(sc) == scopePrefix5m {
			g.log.WarnContext(ctx, "guard: prefix velocity exceeded, starts to the prefix refused",
				"tenant", t, "prefix", prefix, "limit", l.PrefixBurst, "window", 5*time.Minute)
		}
	}
	return startRefusal(exceeded[0], res.RetryAfter), nil
}

// startRefusal is the refusal for an exceeded start scope.
func startRefusal(scope string, retry time.Duration) *Refusal {
	r := &Refusal{Code: CodeRateLimited, RetryAfter: roundRetry(retry)}
	switch scopeName(scope) {
	case scopePhone10m, scopePhoneDay, scopeGlobalPhone:
		r.Field, r.Detail = fieldPhone, "too many verifications to this phone number; try again later"
	case scopeEmail10m, scopeEmailDay, scopeGlobalEmail:
		r.Field, r.Detail = fieldEmail, "too many verifications to this email address; try again later"
	case scopeIP10m:
		r.Detail = "too many verifications from this client IP address; try again later"
	case scopeTenantMinute:
		r.Detail = "too many verifications for this account per minute; slow down"
	case scopePrefix5m:
		r.Code, r.Field = CodePrefixVelocity, fieldPhone
		r.Detail = "unusually many verifications to numbers of this range; try again later"
	default:
		r.Detail = "too many verifications; try again later"
	}
	return r
}

// CheckBudget reports whether the destinations (keyed hashes) of a
// verification still have failed-check budget, without spending it: a
// *Refusal ("rate_limited") when any of them has used its
// FailedChecksPerDestinationHour, nil otherwise.
func (g *Guard) CheckBudget(ctx context.Context, tenant string, destHashes []string) (*Refusal, error) {
	l := g.policy(tenant).Limits
	var retry time.Duration
	for _, h := range dedupHashes(destHashes) {
		_, wait, err := g.st.Peek(ctx, failedHit(tenant, h, l))
		if err != nil {
			return nil, fmt.Errorf("guard: failed-check budget: %w", err)
		}
		retry = max(retry, wait)
	}
	if retry == 0 {
		return nil, nil
	}
	return &Refusal{Code: CodeRateLimited, RetryAfter: roundRetry(retry),
		Detail: "too many failed checks for this destination; try again later"}, nil
}

// SpendFailedCheck records one failed check against each destination (keyed
// hashes) of a verification. Each destination is counted on its own, and a
// destination whose budget is already used up stays at its maximum: that is
// not an error.
func (g *Guard) SpendFailedCheck(ctx context.Context, tenant string, destHashes []string) error {
	l := g.policy(tenant).Limits
	for _, h := range dedupHashes(destHashes) {
		if _, err := g.st.Hit(ctx, []store.LimitHit{failedHit(tenant, h, l)}); err != nil {
			return fmt.Errorf("guard: spend failed check: %w", err)
		}
	}
	return nil
}

func failedHit(tenant, hash string, l Limits) store.LimitHit {
	return store.LimitHit{Scope: tenantScope(scopeFailedHour, tenant), Key: hash,
		Window: time.Hour, Max: l.FailedChecksPerDestinationHour, Cost: 1}
}

// roundRetry rounds a wait up to whole seconds, at least one (the unit of
// HTTP's Retry-After).
func roundRetry(d time.Duration) time.Duration {
	if d <= time.Second {
		return time.Second
	}
	return ((d + time.Second - 1) / time.Second) * time.Second
}
