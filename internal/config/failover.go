package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/veriflow/veriflow/internal/providers"
)

// Failover is how sends move between the providers of a channel's route
// (docs/reliability.md, "Providers fail").
type Failover struct {
	// BreakerFailures consecutive transient failures of a provider open
	// its circuit (VERIFLOW_BREAKER_FAILURES, default 5).
	BreakerFailures int
	// BreakerWindow: a failure more than this after the previous one
	// starts the count again (VERIFLOW_BREAKER_WINDOW, default 30s).
	BreakerWindow time.Duration
	// BreakerCooldown is how long an open circuit skips its provider
	// before one probe send (VERIFLOW_BREAKER_COOLDOWN, default 30s).
	BreakerCooldown time.Duration
	// CallTimeout bounds one provider call (VERIFLOW_PROVIDER_TIMEOUT,
	// default 10s); the send step's timeout bounds all of them.
	CallTimeout time.Duration
	// Rates caps each provider's sends per second, per sender where the
	// provider caps per sender (Meta: per phone number id):
	// VERIFLOW_PROVIDER_RATE_<NAME>; default meta 80, others uncapped; 0
	// removes a cap.
	Rates map[string]int
}

// DefaultProviderRates are the rate caps that apply unless configured:
// Meta's Cloud API allows 80 messages/s per business phone number by
// default.
func DefaultProviderRates() map[string]int { return map[string]int{"meta": 80} }

// DefaultFailover is the failover configuration with no variable set.
func DefaultFailover() Failover {
	return Failover{BreakerFailures: 5, BreakerWindow: 30 * time.Second, BreakerCooldown: 30 * time.Second,
		CallTimeout: 10 * time.Second, Rates: DefaultProviderRates()}
}

func failoverFromEnv(get func(string) string, plugins []providers.Plugin) (Failover, error) {
	f := DefaultFailover()
	var errs []error
	if v := get("VERIFLOW_BREAKER_FAILURES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("VERIFLOW_BREAKER_FAILURES: %q is not a positive integer", v))
		} else {
			f.BreakerFailures = n
		}
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{
		{"VERIFLOW_BREAKER_WINDOW", &f.BreakerWindow},
		{"VERIFLOW_BREAKER_COOLDOWN", &f.BreakerCooldown},
		{"VERIFLOW_PROVIDER_TIMEOUT", &f.CallTimeout},
	} {
		if v := get(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				errs = append(errs, fmt.Errorf("%s: %q is not a positive duration", d.name, v))
				continue
			}
			*d.to = x
		}
	}
	for _, pl := range plugins {
		name := "VERIFLOW_PROVIDER_RATE_" + strings.ToUpper(pl.Name)
		if v := get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("%s: %q is not a rate per second (0: uncapped)", name, v))
				continue
			}
			f.Rates[pl.Name] = n
		}
	}
	return f, errors.Join(errs...)
}
