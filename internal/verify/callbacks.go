package verify

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/events"
	"github.com/veriflow/veriflow/internal/store"
)

// SetCallback registers (or replaces) a tenant's callback URL with a new
// signing secret, which it returns: the only time it is shown. A URL that
// events refuses is Invalid (field "url").
func (s *Service) SetCallback(ctx context.Context, tenantID, url string) (secret string, err error) {
	if err := events.ValidateURL(url); err != nil {
		return "", &Error{Kind: Invalid, Field: "url", Detail: err.Error(), Err: err}
	}
	secret = events.NewSecret()
	sealed, err := s.d.Secrets.Seal([]byte(secret), events.SecretAAD(tenantID))
	if err != nil {
		return "", unavailable("seal callback secret", err)
	}
	if err := s.d.Store.SetCallback(ctx, tenantID, url, sealed); err != nil {
		return "", unavailable("set callback", err)
	}
	return secret, nil
}

// Callback returns a tenant's callback URL; NotFound when it has none.
func (s *Service) Callback(ctx context.Context, tenantID string) (string, error) {
	cb, err := s.d.Store.GetCallback(ctx, tenantID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", notFound("No callback is registered.")
	case err != nil:
		return "", unavailable("get callback", err)
	}
	return cb.URL, nil
}

// DeleteCallback removes a tenant's callback (nothing to remove is fine).
func (s *Service) DeleteCallback(ctx context.Context, tenantID string) error {
	if err := s.d.Store.DeleteCallback(ctx, tenantID); err != nil {
		return unavailable("delete callback", err)
	}
	return nil
}

// Events lists the outbound events of a tenant's verification.
func (s *Service) Events(ctx context.Context, tenantID, verificationID string) ([]store.OutboundEvent, error) {
	v, err := s.Get(ctx, tenantID, verificationID)
	if err != nil {
		return nil, err
	}
	evs, err := s.d.Store.OutboundEvents(ctx, v.TenantID, v.ID)
	if err != nil {
		return nil, unavailable("list events", err)
	}
	return evs, nil
}

// ResentEvent is an event made pending again: its id and, when it could
// be read back, the event.
type ResentEvent struct {
	ID    int64
	Event *store.OutboundEvent
}

// ResendEvent makes an event (by its public id) of a tenant's
// verification pending again and starts a new delivery workflow for it.
// When that start fails the event stays pending and the worker's event
// relay starts it. NoCallback while the tenant has no callback.
func (s *Service) ResendEvent(ctx context.Context, tenantID, verificationID, eventID string) (ResentEvent, error) {
	v, err := s.Get(ctx, tenantID, verificationID)
	if err != nil {
		return ResentEvent{}, err
	}
	noSuchEvent := notFound("No such event.")
	id, ok := events.ParseEventID(eventID)
	if !ok {
		return ResentEvent{}, noSuchEvent
	}
	if _, err := s.d.Store.GetCallback(ctx, v.TenantID); errors.Is(err, store.ErrNotFound) {
		return ResentEvent{}, &Error{Kind: NoCallback, Detail: "No callback is registered: PUT /v1/callback first."}
	} else if err != nil {
		return ResentEvent{}, unavailable("get callback", err)
	}
	wf := events.ResendWorkflowID(v.ID, id, time.Now())
	switch err := s.d.Store.ResendOutboundEvent(ctx, v.TenantID, v.ID, id, wf); {
	case errors.Is(err, store.ErrNotFound):
		return ResentEvent{}, noSuchEvent
	case err != nil:
		return ResentEvent{}, unavailable("resend event", err)
	}
	_, err = s.d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: wf, TaskQueue: contract.TaskQueue, WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary: "resend " + events.EventID(id),
	}, contract.WorkflowDeliverEvent, id)
	if err != nil {
		s.d.Log.WarnContext(ctx, "start event resend; the relay will start it", "event_id", events.EventID(id), "error", err)
	} else if err := s.d.Store.MarkOutboundStarted(ctx, id, wf); err != nil {
		s.d.Log.WarnContext(ctx, "mark event resend started", "event_id", events.EventID(id), "error", err)
	}
	out := ResentEvent{ID: id}
	if evs, err := s.d.Store.OutboundEvents(ctx, v.TenantID, v.ID); err == nil {
		for _, e := range evs {
			if e.ID == id {
				out.Event = &e
				break
			}
		}
	}
	return out, nil
}
