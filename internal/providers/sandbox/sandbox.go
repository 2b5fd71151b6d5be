// Package sandbox is the provider behind test-mode API keys. It never
// reaches a real provider: it keeps each message (sealed, since it holds
// the code) for GET /v1/sandbox/messages, and scripts delivery receipts for
// the contract's sandbox numbers, fed through the same receipts path that
// provider webhooks use.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/mask"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/providers"
)

// Name is the provider name of sandbox messages and receipts.
const Name = "sandbox"

// The contract's scripted sandbox numbers.
const (
	PhoneAllDelivered     = "+15005550000"
	PhoneNotOnWhatsApp    = "+15005550001"
	PhoneWhatsAppSilent   = "+15005550002"
	PhoneEveryChannelFail = "+15005550003"
	PhoneRCSNotCapable    = "+15005550004"
	PhoneNeverRead        = "+15005550005"
	PhoneVoiceNoAnswer    = "+15005550007"
	// PhoneRiskChallenge and PhoneRiskBlock script the fraud engine's
	// decisions for test keys (which it never assesses otherwise): a
	// challenge (SMS and voice dropped from the plan) and a block (403).
	PhoneRiskChallenge = "+15005550008"
	PhoneRiskBlock     = "+15005550009"
)

// Scripted reports whether phone is one of the contract's scripted sandbox
// numbers (which are not real subscribers' numbers).
func Scripted(phone string) bool {
	switch phone {
	case PhoneAllDelivered, PhoneNotOnWhatsApp, PhoneWhatsAppSilent, PhoneEveryChannelFail,
		PhoneRCSNotCapable, PhoneNeverRead, PhoneVoiceNoAnswer, PhoneRiskChallenge, PhoneRiskBlock:
		return true
	}
	return false
}

// Message is one sandbox message to keep. SealedBody is its Body, sealed
// with the code secret under the message's ID.
type Message struct {
	ID             string
	TenantID       string
	VerificationID string
	IdempotencyKey string
	Channel        contract.Channel
	ToHash         []byte
	ToMasked       string
	SealedBody     []byte
}

// Store keeps sandbox messages (the store, through an adapter).
type Store interface {
	// SaveMessage stores m and returns its id; a message already stored
	// under m's idempotency key (a retried send) is kept, and its id
	// returned.
	SaveMessage(ctx context.Context, m Message) (string, error)
}

// Provider is the sandbox provider.
type Provider struct {
	store    Store
	secrets  *otp.Secrets
	receipts providers.Ingester
}

// New returns a sandbox provider.
func New(s Store, secrets *otp.Secrets, receipts providers.Ingester) *Provider {
	return &Provider{store: s, secrets: secrets, receipts: receipts}
}

// Name implements providers.Provider.
func (p *Provider) Name() string { return Name }

// Body is the sealed content of a sandbox message.
type Body struct {
	Text string `json:"text"`
	Code string `json:"code"`
}

// Send implements providers.Provider: it stores the message and schedules
// the scripted receipts.
func (p *Provider) Send(ctx context.Context, m providers.Message) (providers.Result, error) {
	id := "SB" + rand.Text()
	plain, err := json.Marshal(Body{Text: m.Text, Code: m.Code})
	if err != nil {
		return providers.Result{}, fmt.Errorf("sandbox: %w", err)
	}
	sealed, err := p.secrets.Seal(plain, id)
	if err != nil {
		return providers.Result{}, fmt.Errorf("sandbox: %w", err)
	}
	// A retried send finds its message again (same idempotency key) and
	// stores its receipts again, which the receipts path deduplicates.
	stored, err := p.store.SaveMessage(ctx, Message{
		ID: id, TenantID: m.TenantID, VerificationID: m.VerificationID, IdempotencyKey: m.IdempotencyKey,
		Channel: m.Channel, ToHash: p.secrets.HashDestination(m.To), ToMasked: mask.Destination(m.To), SealedBody: sealed,
	})
	if err != nil {
		return providers.Result{}, fmt.Errorf("sandbox: %w", err)
	}
	// The scripted receipts are stored before Send returns, so a crash
	// cannot lose them: they wait in Postgres until the send registers the
	// message, then go through the same path as webhooks.
	now := time.Now().UTC()
	for _, o := range Script(m.Recipient.Phone, m.Channel) {
		r := contract.Receipt{Provider: Name, MessageID: stored, Status: o.Status, Error: o.Error, OccurredAt: now}
		if err := p.receipts.Ingest(ctx, r); err != nil {
			return providers.Result{}, fmt.Errorf("sandbox: receipt: %w", err)
		}
	}
	return providers.Result{MessageID: stored}, nil
}

// Outcome is one scripted receipt.
type Outcome struct {
	Status contract.AttemptStatus
	Error  contract.FailureReason
}

// Script returns the receipts the sandbox sends for a message on ch to a
// verification whose phone is phone.
func Script(phone string, ch contract.Channel) []Outcome {
	sent := Outcome{Status: contract.AttemptSent}
	delivered := Outcome{Status: contract.AttemptDelivered}
	failed := func(r contract.FailureReason) []Outcome { return []Outcome{{Status: contract.AttemptFailed, Error: r}} }
	switch {
	case phone == PhoneEveryChannelFail:
		return failed(contract.ReasonSandboxFailure)
	case phone == PhoneNotOnWhatsApp && ch == contract.ChannelWhatsApp:
		return failed(contract.ReasonNotOnWhatsApp)
	case phone == PhoneWhatsAppSilent && ch == contract.ChannelWhatsApp:
		return []Outcome{sent}
	case phone == PhoneRCSNotCapable && ch == contract.ChannelRCS:
		return failed(contract.ReasonRCSNotCapable)
	case phone == PhoneVoiceNoAnswer && ch == contract.ChannelVoice:
		return failed(contract.ReasonNoAnswer)
	case phone == PhoneNeverRead && ch.ReportsReads():
		return []Outcome{sent, delivered}
	case ch.ReportsReads():
		return []Outcome{sent, delivered, {Status: contract.AttemptRead}}
	}
	return []Outcome{sent, delivered}
}
