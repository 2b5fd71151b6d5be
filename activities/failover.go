package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/metrics"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/store"
)

// Failover moves SendCode's sends between the providers of a channel's
// route (docs/reliability.md, "Providers fail"): a per-provider circuit
// breaker shared by every replica through Postgres, a bound on each
// provider call, and per-provider send-rate caps.
type Failover struct {
	// Circuits holds the providers' circuit breakers (store.Store); nil:
	// no breaker, every send goes to the route's first provider.
	Circuits Circuits
	// Policy is when a circuit opens, how long it stays open and how long
	// its half-open probe may take.
	Policy store.CircuitPolicy
	// CallTimeout bounds one provider call (0: only the activity's
	// deadline bounds it).
	CallTimeout time.Duration
	// Limiter spends the rate caps (store.Store); nil: no caps.
	Limiter RateLimiter
	// Rates caps each provider's sends per second (per sender when the
	// provider is a providers.RateKeyer); absent or 0: uncapped.
	Rates map[string]int
}

// Circuits is the shared circuit-breaker state (store.Store).
type Circuits interface {
	CircuitAllow(ctx context.Context, provider string, p store.CircuitPolicy) (store.CircuitVerdict, error)
	CircuitSuccess(ctx context.Context, provider string) (store.CircuitState, error)
	CircuitFailure(ctx context.Context, provider string, p store.CircuitPolicy) (store.CircuitState, bool, error)
}

// RateLimiter spaces each provider's sends under its rate cap, shared by
// replicas through Postgres (store.Store).
type RateLimiter interface {
	ReserveSend(ctx context.Context, provider, key string, interval, maxQueue time.Duration) (store.SendSlot, error)
}

// Error types of SendCode's retryable refusals (Temporal retries them,
// after NextRetryDelay when set).
const (
	// ErrTypeProviderThrottled: the provider's rate cap is spent; the send
	// waits for room (NextRetryDelay) instead of drawing a 429.
	ErrTypeProviderThrottled = "ProviderThrottled"
	// ErrTypeProviderTransient: the provider failed in a way a retry may
	// fix (5xx, timeout, 429, network); the retry may go to the route's
	// next provider.
	ErrTypeProviderTransient = "ProviderTransient"
)

// order returns the route's providers in the order this send tries them:
// a retry whose previous call went to one of them (the ledger row is
// "calling", its lease released or run out) starts after it, so a
// verification does not wait for the breaker to open to move on.
func order(cands []providers.Provider, failedOn string) []providers.Provider {
	i := slices.IndexFunc(cands, func(p providers.Provider) bool { return p.Name() == failedOn })
	if i < 0 || len(cands) < 2 {
		return cands
	}
	return append(slices.Clone(cands[i+1:]), cands[:i+1]...)
}

// pick returns the first provider of cands whose circuit lets the send
// through. When every circuit is open, it returns a non-retryable
// provider_unavailable failure, so the workflow fails over to its next
// channel at once instead of waiting out the step on dead providers.
func (a *Activities) pick(ctx context.Context, cands []providers.Provider, live bool) (providers.Provider, error) {
	f := a.Failover
	if f == nil || f.Circuits == nil || !live {
		return cands[0], nil
	}
	var names []string
	for _, p := range cands {
		v, err := f.Circuits.CircuitAllow(ctx, p.Name(), f.Policy)
		if err != nil {
			// The breaker is an optimisation: without Postgres, try the provider.
			a.Log.WarnContext(ctx, "circuit breaker unreadable; sending anyway", "provider", p.Name(), "error", err)
			return p, nil
		}
		a.Metrics.ObserveCircuit(p.Name(), circuitGauge(v.State))
		if v.Allowed {
			if v.Probe {
				a.Log.InfoContext(ctx, "provider circuit half-open: probe send", "provider", p.Name())
			}
			return p, nil
		}
		a.Metrics.ObserveProviderCall(p.Name(), "circuit_open")
		names = append(names, p.Name())
	}
	msg := fmt.Sprintf("every provider of the channel is failing (circuits open: %v)", names)
	return nil, temporal.NewNonRetryableApplicationError(msg, contract.ErrTypeDeliveryFailed, nil, contract.ReasonProviderUnavailable)
}

// maxRateQueue is how far ahead a send may reserve its slot under a rate
// cap and wait for it in the activity; a longer queue returns the send to
// Temporal with NextRetryDelay instead of holding a worker slot.
const maxRateQueue = time.Second

// throttle takes p's next send slot under its rate cap (sends spaced
// 1/rate apart, shared by replicas through Postgres) and waits for it; when
// the queue is longer than a second it returns a retryable
// ErrTypeProviderThrottled error whose NextRetryDelay is the wait, so a
// burst queues instead of drawing the provider's 429s.
func (a *Activities) throttle(ctx context.Context, p providers.Provider, live bool) error {
	f := a.Failover
	if f == nil || f.Limiter == nil || f.Rates[p.Name()] <= 0 || !live {
		return nil
	}
	key := p.Name()
	if k, ok := p.(providers.RateKeyer); ok && k.RateKey() != "" {
		key = k.RateKey()
	}
	slot, err := f.Limiter.ReserveSend(ctx, p.Name(), key, time.Second/time.Duration(f.Rates[p.Name()]), maxRateQueue)
	if err != nil {
		a.Log.WarnContext(ctx, "provider rate cap unreadable; sending anyway", "provider", p.Name(), "error", err)
		return nil
	}
	if !slot.Reserved {
		a.Metrics.ObserveProviderCall(p.Name(), "throttled")
		return temporal.NewApplicationErrorWithOptions("provider send rate cap reached: queued", ErrTypeProviderThrottled,
			temporal.ApplicationErrorOptions{NextRetryDelay: slot.RetryAfter})
	}
	if slot.Delay <= 0 {
		return nil
	}
	t := time.NewTimer(slot.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the provider's send slot: %w", context.Cause(ctx))
	}
}

// call makes the provider call, bounded by the call timeout, and records
// its result in the metrics and the provider's circuit (live sends only:
// the sandbox of test mode is sent as before).
func (a *Activities) call(ctx context.Context, p providers.Provider, live bool, m providers.Message) (providers.Result, error) {
	if !live {
		return p.Send(ctx, m)
	}
	cctx := ctx
	if f := a.Failover; f != nil && f.CallTimeout > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, f.CallTimeout)
		defer cancel()
	}
	res, err := p.Send(cctx, m)
	fault, wait := providers.ClassifyFault(err)
	if fault == providers.FaultNetwork && cctx.Err() != nil {
		fault = providers.FaultTimeout
	}
	a.Metrics.ObserveProviderCall(p.Name(), string(fault))
	if f := a.Failover; f != nil && f.Circuits != nil {
		// Recorded with a fresh deadline: the call's may be spent.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		switch {
		case fault.Transient():
			st, opened, cerr := f.Circuits.CircuitFailure(bctx, p.Name(), f.Policy)
			if cerr != nil {
				a.Log.WarnContext(ctx, "circuit breaker not updated", "provider", p.Name(), "error", cerr)
				break
			}
			a.Metrics.ObserveCircuit(p.Name(), circuitGauge(st))
			if opened {
				a.Log.WarnContext(ctx, "provider circuit opened: sends move to the next provider of the route",
					"provider", p.Name(), "fault", fault, "cooldown", f.Policy.Cooldown)
			}
		case fault == providers.FaultNone || fault == providers.FaultPermanent:
			// The provider answered: it is up (a permanent refusal is the
			// destination's or the message's, not the provider's).
			if _, cerr := f.Circuits.CircuitSuccess(bctx, p.Name()); cerr != nil {
				a.Log.WarnContext(ctx, "circuit breaker not updated", "provider", p.Name(), "error", cerr)
				break
			}
			a.Metrics.ObserveCircuit(p.Name(), metrics.CircuitClosed)
		}
	}
	if err != nil && !fault.Transient() {
		return res, err
	}
	if err != nil {
		// Retryable; a Retry-After is honoured as the retry's delay.
		return res, &transientError{err: err, fault: fault, wait: wait}
	}
	return res, nil
}

// transientError is a provider call's retryable failure, as call returns it.
type transientError struct {
	err   error
	fault providers.Fault
	wait  time.Duration
}

func (e *transientError) Error() string { return string(e.fault) + ": " + e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// retryable turns a transient provider failure into Temporal's retryable
// error, with the provider's Retry-After as NextRetryDelay.
func retryable(err error) error {
	var te *transientError
	if !errors.As(err, &te) {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(te.Error(), ErrTypeProviderTransient,
		temporal.ApplicationErrorOptions{NextRetryDelay: te.wait, Cause: te.err})
}

// circuitGauge is the veriflow_provider_circuit_state value of st.
func circuitGauge(st store.CircuitState) int {
	switch st {
	case store.CircuitOpen:
		return metrics.CircuitOpen
	case store.CircuitHalfOpen:
		return metrics.CircuitHalfOpen
	}
	return metrics.CircuitClosed
}
