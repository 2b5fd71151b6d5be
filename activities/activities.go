// Package activities holds the verification workflow's activities: sending
// a code through the channel's provider (SendCode), projecting the
// workflow's state into the Postgres read model (Record), and canceling
// the older pending verifications a new one supersedes (Supersede). The
// PostEvent activity of outbound events lives with its feature, in
// internal/events/delivery.
package activities

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/veriflow/veriflow/internal/branding"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/events"
	"github.com/veriflow/veriflow/internal/events/delivery"
	"github.com/veriflow/veriflow/internal/evidence"
	"github.com/veriflow/veriflow/internal/mask"
	"github.com/veriflow/veriflow/internal/messages"
	"github.com/veriflow/veriflow/internal/metrics"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/store"
)

// Store is the part of the store the activities need.
type Store interface {
	RegisterMessage(ctx context.Context, m store.Message) error
	Record(ctx context.Context, in contract.RecordInput, ev *store.Evidence) ([]int64, error)
	delivery.StartMarker
	SupersedeStore
}

// Receipts applies receipts that raced a send.
type Receipts interface {
	ApplyPending(ctx context.Context, provider, messageID, verificationID, tenantID string) error
}

// Activities are registered on the worker as one struct.
type Activities struct {
	Store     Store
	Providers providers.Router
	Secrets   *otp.Secrets
	Receipts  Receipts
	// Evidence signs the evidence of approved signatures.
	Evidence *evidence.Keyring
	// Metrics, when set, counts the verification business from projections.
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// Temporal starts the DeliverEvent workflows of the outbound events a
	// projection queued (nil: the events relay starts them later).
	Temporal client.Client
	// Brands looks up the tenant's display name and SMS autofill settings
	// for the message (nil: the default name, no autofill).
	Brands Brands
	// Ledger records every send attempt around its provider call, so a
	// retried SendCode does not send again (nil: no record, every retry
	// calls the provider; only the sandbox and email honour the key then).
	Ledger SendLedger
	// Failover moves sends between a channel's providers while one fails
	// and caps their send rates (nil: the route's first provider only).
	Failover *Failover
}

// Brands looks a tenant's brand up (branding.Resolver).
type Brands interface {
	Lookup(ctx context.Context, tenantID string) (branding.Brand, error)
}

// SendCode derives the verification's code, renders the message and hands
// it to the channel's provider. It returns the provider's message id and
// the keyed hash of the code; the code itself never leaves the activity.
func (a *Activities) SendCode(ctx context.Context, in contract.SendInput) (contract.SendResult, error) {
	to := in.Channel.Destination(in.To)
	if to == "" {
		return contract.SendResult{}, temporal.NewNonRetryableApplicationError("no destination", contract.ErrTypeDeliveryFailed, nil, contract.ReasonNoDestination)
	}
	cands, err := a.Providers.Candidates(in.Mode, in.TenantID, in.Channel)
	if err != nil {
		return contract.SendResult{}, deliveryError(err)
	}
	var brand branding.Brand
	if a.Brands != nil {
		// Looked up here, not carried in the input: no workflow change.
		if brand, err = a.Brands.Lookup(ctx, in.TenantID); err != nil {
			return contract.SendResult{}, err
		}
	}
	code := a.Secrets.Code(in.VerificationID, in.Generation, contract.BindingDigest(in.Transaction, in.Document), in.CodeLength)
	locale := messages.Resolve(in.Locale, in.To.Phone)
	// The tenant's display name and SMS autofill go into every channel's
	// rendering (a channel's own renderer takes the same input).
	input := messages.Input{Kind: in.Kind, Locale: locale, Code: code, TTL: in.TTL, Channel: in.Channel,
		Transaction: in.Transaction, Document: in.Document, Brand: brand.Name, Autofill: brand.Autofill}
	msg := messages.Render(input)
	key := fmt.Sprintf("%s/%d", in.VerificationID, in.Seq)
	var res providers.Result
	var prior ledgered
	failedOn := ""
	if a.Ledger != nil {
		// The ledger first: a send accepted (or refused for good) by an
		// earlier attempt is answered whatever the providers' state now.
		row, found, err := a.Ledger.LookupSend(ctx, key)
		if err != nil {
			return contract.SendResult{}, err
		}
		switch {
		case found && row.State == store.SendAccepted:
			prior = ledgered{done: true, res: providers.Result{MessageID: row.MessageID}, provider: row.Provider}
		case found && row.State == store.SendFailed:
			prior = ledgered{done: true, provider: row.Provider, err: temporal.NewNonRetryableApplicationError(row.Reason,
				contract.ErrTypeDeliveryFailed, nil, contract.FailureReason(row.Reason))}
		case found:
			failedOn = row.Provider // an earlier call of this attempt: retry on the next provider
		}
	}
	var p providers.Provider
	provider := ""
	// Test mode's sandbox is in-process: no breaker, rate cap or call bound.
	live := in.Mode != contract.ModeTest
	if !prior.done {
		if p, err = a.pick(ctx, order(cands, failedOn), live); err != nil {
			a.Log.WarnContext(ctx, "send failed", "verification_id", in.VerificationID, "channel", in.Channel,
				"to", mask.Destination(to), "error", err)
			return contract.SendResult{}, err
		}
		if err := a.throttle(ctx, p, live); err != nil {
			return contract.SendResult{}, err
		}
		provider = p.Name()
		if a.Ledger != nil {
			if prior, err = a.claimSend(ctx, in, key, provider); err != nil {
				return contract.SendResult{}, err
			}
		}
	}
	if prior.done {
		if prior.err != nil {
			return contract.SendResult{}, prior.err
		}
		// Accepted by an earlier attempt: its message id, no second call.
		res, provider = prior.res, prior.provider
	} else {
		res, err = a.call(ctx, p, live, providers.Message{
			IdempotencyKey: key,
			VerificationID: in.VerificationID, TenantID: in.TenantID, Channel: in.Channel,
			To: to, Recipient: in.To, Kind: in.Kind, Locale: locale, Code: code, TTL: in.TTL,
			Text: msg.Text, Subject: msg.Subject, HTML: msg.HTML,
		})
		if a.Ledger != nil {
			// The call's own deadline may be spent: record with a fresh one.
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			lerr := a.settleSend(lctx, in, key, res, err)
			cancel()
			if lerr != nil {
				// Accepted but not recorded: the attempt still succeeds, so no
				// retry comes; should one come (its completion lost), it finds
				// the send calling and counts its resend as uncertain.
				a.Log.WarnContext(ctx, "send ledger not updated", "verification_id", in.VerificationID, "error", lerr)
			}
		}
		if err != nil {
			a.Log.WarnContext(ctx, "send failed", "verification_id", in.VerificationID, "channel", in.Channel,
				"to", mask.Destination(to), "provider", provider, "error", err)
			return contract.SendResult{}, retryable(deliveryError(err))
		}
	}
	if err := a.Store.RegisterMessage(ctx, store.Message{Provider: provider, ProviderMessageID: res.MessageID,
		VerificationID: in.VerificationID, TenantID: in.TenantID, Seq: in.Seq, Channel: in.Channel}); err != nil {
		return contract.SendResult{}, err
	}
	if err := a.Receipts.ApplyPending(ctx, provider, res.MessageID, in.VerificationID, in.TenantID); err != nil {
		a.Log.WarnContext(ctx, "early receipts stay stored", "verification_id", in.VerificationID, "error", err)
	}
	// "code sent" follows every provider call that returned (the chaos
	// test counts these lines); a send answered from the ledger says so.
	logged := "code sent"
	if prior.done {
		logged = "code already sent (from the send ledger)"
	}
	a.Log.InfoContext(ctx, logged, "verification_id", in.VerificationID, "tenant_id", in.TenantID,
		"channel", in.Channel, "to", mask.Destination(to), "provider", provider, "message_id", res.MessageID)
	return contract.SendResult{Provider: provider, MessageID: res.MessageID, CodeHash: a.Secrets.Hash(in.VerificationID, code)}, nil
}

// deliveryError turns a provider's permanent failure into a non-retryable
// application error whose detail is the stable reason; anything else is
// retried by Temporal within the step's time.
func deliveryError(err error) error {
	var perm *providers.PermanentError
	if errors.As(err, &perm) {
		return temporal.NewNonRetryableApplicationError(string(perm.Reason), contract.ErrTypeDeliveryFailed, nil, perm.Reason)
	}
	return err
}

// Record projects a workflow state into the read model. It runs as a local
// activity. With the approval of a signature it also signs the evidence,
// stored in the same transaction as the approved state. The contract
// events it queued for the tenant's callback get their DeliverEvent
// workflows started once the transaction has committed.
func (a *Activities) Record(ctx context.Context, in contract.RecordInput) error {
	var ev *store.Evidence
	if in.Evidence != nil {
		var err error
		if ev, err = a.signEvidence(in); err != nil {
			return err
		}
	}
	queued, err := a.Store.Record(ctx, in, ev)
	if err != nil {
		return err
	}
	if a.Metrics != nil {
		a.Metrics.ObserveRecord(in.Kind, in)
	}
	for _, e := range in.Events {
		a.Log.InfoContext(ctx, "state change", "verification_id", in.VerificationID, "tenant_id", in.TenantID,
			"kind", in.Kind, "event", e.Type, "channel", e.Channel, "detail", e.Detail, "status", in.State.Status)
	}
	for _, id := range queued {
		// A failure is not the projection's: the events relay starts it later.
		if err := delivery.Start(ctx, a.Temporal, a.Store, id, events.WorkflowID(in.VerificationID, id)); err != nil {
			a.Log.WarnContext(ctx, "start event delivery; the events relay will retry", "event_id", events.EventID(id),
				"verification_id", in.VerificationID, "error", err)
		}
	}
	return nil
}

func (a *Activities) signEvidence(in contract.RecordInput) (*store.Evidence, error) {
	if a.Evidence == nil {
		return nil, temporal.NewNonRetryableApplicationError("no evidence signing key configured", "EvidenceKeyMissing", nil)
	}
	e := in.Evidence
	kind := "phone"
	if e.Channel == contract.ChannelEmail {
		kind = "email"
	}
	signed, err := a.Evidence.Sign(evidence.Record{
		VerificationID: in.VerificationID, TenantID: in.TenantID, Kind: string(e.Kind),
		Document: evidence.Document{SHA256: e.Document.SHA256, Title: e.Document.Title},
		Destination: evidence.Destination{Type: kind, Masked: mask.Destination(e.Destination),
			HMAC: hex.EncodeToString(a.Secrets.HashDestination(e.Destination))},
		Channel: string(e.Channel), SentAt: e.SentAt, DeliveredAt: e.DeliveredAt, ApprovedAt: e.ApprovedAt, ClientIP: e.ClientIP,
	})
	if err != nil {
		return nil, fmt.Errorf("sign evidence: %w", err)
	}
	// Keep the signed record byte for byte: no HTML escaping, no indent.
	var doc bytes.Buffer
	enc := json.NewEncoder(&doc)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(signed); err != nil {
		return nil, fmt.Errorf("encode evidence: %w", err)
	}
	return &store.Evidence{KeyID: signed.Signature.KeyID, Document: bytes.TrimSuffix(doc.Bytes(), []byte("\n"))}, nil
}
