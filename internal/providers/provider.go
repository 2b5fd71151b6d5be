// Package providers defines how Veriflow hands a message to a delivery
// provider, and routes each channel to the provider that serves it.
package providers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

// Message is one code message to send.
type Message struct {
	// IdempotencyKey is the same for retries of one attempt.
	IdempotencyKey string
	VerificationID string
	TenantID       string
	Channel        contract.Channel
	// To is the destination on Channel; Recipient holds all destinations
	// of the verification.
	To        string
	Recipient contract.Destinations
	Kind      contract.Kind
	// Locale is the resolved language of the message (en, it, es, de, fr, pt).
	Locale string
	// Code is the one-time code, for providers whose templates take it as
	// a parameter (WhatsApp authentication templates). Never log it.
	Code string
	// TTL is how long the code is valid.
	TTL time.Duration
	// Text is the plain-text message (SMS, the email's text part).
	Text string
	// Subject and HTML are the email's subject and HTML part.
	Subject string
	HTML    string
}

// Result is what a provider returns for an accepted message.
type Result struct {
	MessageID string
}

// Provider sends messages over one or more channels. Receipts come back
// asynchronously through the receipts package.
type Provider interface {
	Name() string
	Send(ctx context.Context, m Message) (Result, error)
}

// PermanentError means the destination cannot receive on this channel
// (not a WhatsApp user, invalid number, ...): retrying is pointless, the
// verification fails over at once. Reason is a stable, client-safe code.
type PermanentError struct {
	Reason contract.FailureReason
	Err    error
}

func (e *PermanentError) Error() string {
	if e.Err != nil {
		return "permanent delivery failure: " + string(e.Reason) + ": " + e.Err.Error()
	}
	return "permanent delivery failure: " + string(e.Reason)
}

func (e *PermanentError) Unwrap() error { return e.Err }

// ErrNotConfigured is returned when no provider serves a channel.
var ErrNotConfigured = errors.New("provider: channel not configured")

// Router picks the provider of a message: test mode always goes to the
// sandbox; live mode to the providers routed for the tenant and channel.
type Router struct {
	Sandbox Provider
	// Providers holds the configured live providers by name.
	Providers map[string]Provider
	// Channels routes each channel to its providers: one name, or an
	// ordered, comma-separated list ("meta,twilio") whose first provider
	// takes the sends while it is healthy; Tenants overrides it per tenant.
	Channels map[contract.Channel]string
	Tenants  map[string]map[contract.Channel]string
}

// For returns the first provider for a tenant's message on a channel.
func (r Router) For(mode contract.Mode, tenant string, ch contract.Channel) (Provider, error) {
	ps, err := r.Candidates(mode, tenant, ch)
	if err != nil {
		return nil, err
	}
	return ps[0], nil
}

// Candidates returns the providers for a tenant's message on a channel, in
// the order of the route (test mode: the sandbox alone). At least one is
// returned, or a *PermanentError (channel_not_configured).
func (r Router) Candidates(mode contract.Mode, tenant string, ch contract.Channel) ([]Provider, error) {
	if mode == contract.ModeTest {
		if r.Sandbox == nil {
			return nil, fmt.Errorf("%w: sandbox", ErrNotConfigured)
		}
		return []Provider{r.Sandbox}, nil
	}
	route, ok := r.Tenants[tenant][ch]
	if !ok {
		route = r.Channels[ch]
	}
	var out []Provider
	for _, name := range RouteNames(route) {
		if p := r.Providers[name]; p != nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, &PermanentError{Reason: contract.ReasonChannelNotConfigured, Err: fmt.Errorf("%w: %s", ErrNotConfigured, ch)}
	}
	return out, nil
}

// RouteNames splits a route ("meta", "meta,twilio") into its provider
// names, in order, trimmed, without empty entries.
func RouteNames(route string) []string {
	var names []string
	for _, n := range strings.Split(route, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}
