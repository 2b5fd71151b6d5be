package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/veriflow/veriflow/internal/contract"
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
		return temporal.NewApplicationError("callback: "+reason, ErrTypeCallbackFailed)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // let the connection be reused
	_ = res.Body.Close()
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if err := a.Store.MarkOutboundDelivered(ctx, ev.ID, res.StatusCode); err != nil {
			return err // retried: the receiver deduplicates by Veriflow-Event-Id
		}
		a.Log.InfoContext(ctx, "event delivered", "event_id", events.EventID(ev.ID), "tenant_id", ev.TenantID,
			"type", ev.Type, "http_status", res.StatusCode)
		return nil
	}
	reason := "HTTP " + strconv.Itoa(res.StatusCode)
	if err := a.Store.MarkOutboundAttempt(ctx, ev.ID, res.StatusCode, reason); err != nil {
		return err
	}
	a.Log.WarnContext(ctx, "event delivery refused", "event_id", events.EventID(ev.ID), "tenant_id", ev.TenantID,
		"http_status", res.StatusCode)
	return temporal.NewApplicationError("callback answered "+reason, ErrTypeCallbackFailed)
}

func (a *Activities) giveUp(ctx context.Context, ev store.OutboundEvent, reason string) error {
	if err := a.Store.MarkOutboundFailed(ctx, ev.ID, reason); err != nil {
		return err
	}
	a.Log.WarnContext(ctx, "event delivery given up", "event_id", events.EventID(ev.ID), "tenant_id", ev.TenantID, "reason", reason)
	return temporal.NewNonRetryableApplicationError(reason, ErrTypeEventUndeliverable, nil)
}

func (a *Activities) httpClient() *http.Client {
	if a.HTTPClient != nil {
		return a.HTTPClient
	}
	return defaultEventClient
}

// defaultEventClient follows no redirects: a 3xx is not an acknowledgement.
var defaultEventClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// StartMarker records that an event's delivery workflow was started.
type StartMarker interface {
	MarkOutboundStarted(ctx context.Context, id int64, workflowID string) error
}

// StartDelivery starts the DeliverEvent workflow of event id under
// workflowID and marks the event started. A workflow with that id that
// already exists (running or closed) is not an error: starting is
// idempotent.
func StartDelivery(ctx context.Context, c client.Client, m StartMarker, id int64, workflowID string) error {
	if c == nil {
		return errors.New("no Temporal client")
	}
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    workflowID,
		TaskQueue:             contract.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:         "deliver " + events.EventID(id),
	}, contract.WorkflowDeliverEvent, id)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start %s: %w", workflowID, err)
	}
	return m.MarkOutboundStarted(ctx, id, workflowID)
}
