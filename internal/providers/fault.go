package providers

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is how a provider call failed, as the circuit breaker and the
// veriflow_provider_calls_total{result} metric see it.
type Fault string

// The faults of a provider call. Only the provider's own troubles
// (Fault.Transient) count toward its circuit breaker: a permanent failure
// is about the destination or the message, not the provider's health.
const (
	// FaultNone: the provider accepted the message.
	FaultNone Fault = "ok"
	// FaultPermanent: refused for good (*PermanentError): not a provider
	// health problem (not_on_whatsapp, invalid_number, a template issue).
	FaultPermanent Fault = "permanent"
	// FaultRateLimited: HTTP 429 or the provider's throughput-limit codes.
	FaultRateLimited Fault = "rate_limited"
	// FaultServer: HTTP 5xx, or an error code meaning the provider is down.
	FaultServer Fault = "server_error"
	// FaultTimeout: no answer in time (a hung or slow provider).
	FaultTimeout Fault = "timeout"
	// FaultNetwork: no answer at all (connection refused or reset).
	FaultNetwork Fault = "network"
	// FaultOther: any other retryable failure (an unreadable answer).
	FaultOther Fault = "other"
)

// Transient reports whether f counts toward the provider's circuit
// breaker.
func (f Fault) Transient() bool {
	switch f {
	case FaultRateLimited, FaultServer, FaultTimeout, FaultNetwork:
		return true
	}
	return false
}

// FaultError is implemented by the adapters' API errors (meta.APIError,
// twilio.APIError): ProviderFault says what kind of failure the answer
// was, RetryAfter the wait the provider asked for (0: none).
type FaultError interface {
	error
	ProviderFault() Fault
	RetryAfter() time.Duration
}

// ClassifyFault returns the fault of a provider call's error, and the
// wait the provider asked for before a retry (its Retry-After, 0 when it
// gave none).
func ClassifyFault(err error) (Fault, time.Duration) {
	if err == nil {
		return FaultNone, 0
	}
	var perm *PermanentError
	if errors.As(err, &perm) {
		return FaultPermanent, 0
	}
	var fe FaultError
	if errors.As(err, &fe) {
		return fe.ProviderFault(), fe.RetryAfter()
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return FaultTimeout, 0
	}
	var oe *net.OpError
	if errors.As(err, &oe) || errors.Is(err, context.Canceled) {
		return FaultNetwork, 0
	}
	return FaultOther, 0
}

// StatusFault is the fault of an HTTP error answer that no error code
// explained: 429 is a rate limit, 408 a timeout, 5xx a server error.
func StatusFault(status int) Fault {
	switch {
	case status == http.StatusTooManyRequests:
		return FaultRateLimited
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return FaultTimeout
	case status >= 500:
		return FaultServer
	}
	return FaultOther
}

// maxRetryAfter bounds the wait a provider's Retry-After may ask for.
const maxRetryAfter = 5 * time.Minute

// ParseRetryAfter reads an HTTP Retry-After header (seconds or an HTTP
// date), bounded to 5 minutes; 0 when absent or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.Atoi(v); err == nil {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// RateKeyer is implemented by providers whose send rate is capped per
// sender rather than per provider (Meta: per phone number id).
type RateKeyer interface {
	RateKey() string
}
