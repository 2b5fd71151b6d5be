// Package providers defines how Veriflow hands a message to a delivery
// provider, and routes each channel to the provider that serves it.
package providers

import (
	"context"
	"errors"
	"fmt"
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
// sandbox; live mode to the provider routed for the tenant and channel.
type Router struct {
	Sandbox Provider
	// Providers holds the configured live providers by name.
	Providers map[string]Provider
	// Channels routes each channel to a provider name; Tenants overrides
	// it per tenant.
	Channels map[contract.Channel]string
	Tenants  map[string]map[contract.Channel]string
}

// For returns the provider for a tenant's message on a channel.
func (r Router) For(mode contract.Mode, tenant string, ch contract.Channel) (Provider, error) {
	if mode == contract.ModeTest {
		if r.Sandbox == nil {
			return nil, fmt.Errorf("%w: sandbox", ErrNotConfigured)
		}
		return r.Sandbox, nil
	}
	name, ok := r.Tenants[tenant][ch]
	if !ok {
		name = r.Channels[ch]
	}
	p := r.Providers[name]
	if p == nil {
		return nil, &PermanentError{Reason: contract.ReasonChannelNotConfigured, Err: fmt.Errorf("%w: %s", ErrNotConfigured, ch)}
	}
	return p, nil
}
