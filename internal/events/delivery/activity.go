package delivery

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/veriflow/veriflow/internal/events"
	"github.com/veriflow/veriflow/internal/store"
)

// PostTimeout bounds one POST of an outbound event.
const PostTimeout = 10 * time.Second

// Application error types of PostEvent.
const (
	// ErrTypeCallbackFailed: no 2xx (retried by the workflow).
	ErrTypeCallbackFailed = "CallbackFailed"
	// ErrTypeEventUndeliverable: no callback, no event, unusable URL or
	// secret — retrying cannot help.
	ErrTypeEventUndeliverable = "EventUndeliverable"
)

// Store is the part of the store PostEvent needs.
type Store interface {
	GetOutboundEvent(ctx context.Context, id int64) (store.OutboundEvent, error)
	GetCallback(ctx context.Context, tenantID string) (store.Callback, error)
	MarkOutboundDelivered(ctx context.Context, id int64, httpStatus int) error
	MarkOutboundAttempt(ctx context.Context, id int64, httpStatus int, errText string) error
	MarkOutboundFailed(ctx context.Context, id int64, reason string) error
}

// Opener opens a tenant's sealed signing secret (otp.Secrets does).
type Opener interface {
	Open(sealed []byte, aad string) ([]byte, error)
}

// PostObserver counts the outcomes of PostEvent ("delivered", "failed",
// "given_up"); *metrics.Metrics is one.
type PostObserver interface {
	ObserveEventPost(outcome string)
}

// Outcomes of one PostEvent, as passed to a PostObserver.
const (
	outcomeDelivered = "delivered"
	outcomeFailed    = "failed"
	outcomeGivenUp   = "given_up"
)

// Activities holds the PostEvent activity, registered on the worker under
// contract.ActivityPostEvent.
type Activities struct {
	Store   Store
	Secrets Opener
	Log     *slog.Logger
	// Metrics, when set, counts each POST's outcome.
	Metrics PostObserver
	// HTTPClient posts outbound events (nil: a client that follows no
	// redirects, since a 3xx is not an acknowledgement).
	HTTPClient *http.Client
}

// PostEvent POSTs one outbound event to its tenant's callback, signed with
// the tenant's secret at the current time, and records the attempt. A 2xx
// marks it delivered; anything else is recorded and returned as a
// retryable error, so the DeliverEvent workflow tries again with backoff.
func (a *Activities) PostEvent(ctx context.Context, eventID int64) error {
	ev, err := a.Store.GetOutboundEvent(ctx, eventID)
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError("no such event", ErrTypeEventUndeliverable, nil)
	}
	if err != nil {
		return err
	}
	if ev.Status != store.OutboundPending {
		return nil // delivered (a retried activity) or given up
	}
	cb, err := a.Store.GetCallback(ctx, ev.TenantID)
	if errors.Is(err, store.ErrNotFound) {
		return a.giveUp(ctx, ev, "no callback registered")
	}
	if err != nil {
		return err
	}
	if err := events.ValidateURL(cb.URL); err != nil {
		return a.giveUp(ctx, ev, "callback url "+err.Error())
	}
	secret, err := a.Secrets.Open(cb.SealedSecret, events.SecretAAD(ev.TenantID))
	if err != nil {
		return a.giveUp(ctx, ev, "signing secret unreadable")
	}

	pctx, cancel := context.WithTimeout(ctx, PostTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodPost, cb.URL, bytes.NewReader(ev.Body))
	if err != nil {
		return a.giveUp(ctx, ev, "callback url unusable")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Veriflow-Events/1")
	req.Header.Set("Veriflow-Event-Id", events.EventID(ev.ID))
	req.Header.Set("Veriflow-Signature", events.Sign(string(secret), time.Now(), ev.Body))
	res, err := a.httpClient().Do(req)
	if err != nil {
		reason := "connection failed"
		if errors.Is(err, context.DeadlineExceeded) || pctx.Err() != nil {
			reason = "timeout"
		}
		a.Log.WarnContext(ctx, "event delivery failed", "event_id", events.EventID(ev.ID), "tenant_id", ev.TenantID, "error", err)
		if merr := a.Store.MarkOutboundAttempt(ctx, ev.ID, 0, reason); merr != nil {
			return merr
		}
		a.observe(outcomeFailed)
		return temporal.NewApplicationError("callback: "+reason, ErrTypeCallbackFailed)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // let the connection be reused
	_ = res.Body.Close()
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if err := a.Store.MarkOutboundDelivered(ctx, ev.ID, res.StatusCode); err != nil {
			return err // retried: the receiver deduplicates by Veriflow-Event-Id
		}
		a.observe(outcomeDelivered)
		a.Log.InfoContext(ctx, "event delivered", "event_id", events.EventID(ev.ID), "tenant_id", ev.TenantID,
			"type", ev.Type, "http_status", res.StatusCode)
		return nil
	}
	reason := "HTTP " + strconv.Itoa(res.StatusCode)
	if err := a.Store.MarkOutboundAttempt(ctx, ev.ID, res.StatusCode, reason); err != nil {
		return err
	}
	a.observe(outcomeFailed)
	a.Log.WarnContext(ctx, "event delivery refused", "event_id", events.EventID(ev.ID), "tenant_id", ev.TenantID,
		"http_status", res.StatusCode)
	return temporal.NewApplicationError("callback answered "+reason, ErrTypeCallbackFailed)
}

// giveUp marks the event failed and returns a non-retryable error, which
// ends its DeliverEvent workflow.
func (a *Activities) giveUp(ctx context.Context, ev store.OutboundEvent, reason string) error {
	if err := a.Store.MarkOutboundFailed(ctx, ev.ID, reason); err != nil {
		return err
	}
	a.observe(outcomeGivenUp)
	a.Log.WarnContext(ctx, "event delivery given up", "event_id", events.EventID(ev.ID), "tenant_id", ev.TenantID, "reason", reason)
	return temporal.NewNonRetryableApplicationError(reason, ErrTypeEventUndeliverable, nil)
}

// observe passes outcome to Metrics when set.
func (a *Activities) observe(outcome string) {
	if a.Metrics != nil {
		a.Metrics.ObserveEventPost(outcome)
	}
}

// httpClient is HTTPClient, or a new client that follows no redirects (a
// 3xx is not an acknowledgement). Not shared at package level: a default
// client per call costs nothing (http.DefaultTransport pools connections).
func (a *Activities) httpClient() *http.Client {
	if a.HTTPClient != nil {
		return a.HTTPClient
	}
	return &http.Client{CheckRedirect: noRedirect}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
