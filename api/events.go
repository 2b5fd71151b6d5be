package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/events"
	"github.com/veriflow/veriflow/internal/store"
)

// CodeNoCallback: an event cannot be resent while no callback is registered.
const CodeNoCallback Code = "no_callback"

func (s *Server) registerEvents(v1 *gin.RouterGroup) {
	v1.PUT("/callback", s.putCallback)
	v1.GET("/callback", s.getCallback)
	v1.DELETE("/callback", s.deleteCallback)
	v1.GET("/verifications/:id/events", s.listEvents)
	v1.POST("/verifications/:id/events/:event_id/resend", s.resendEvent)
}

type callbackRequest struct {
	URL string `json:"url"`
}

// putCallback registers or replaces the tenant's callback URL with a new
// signing secret, shown in this answer only.
func (s *Server) putCallback(c *gin.Context) {
	var req callbackRequest
	if p := decodeJSON(c, &req, false); p != nil {
		writeProblem(c, p)
		return
	}
	if err := events.ValidateURL(req.URL); err != nil {
		writeProblem(c, invalid(FieldError{Field: "url", Message: err.Error()}))
		return
	}
	t := tenantOf(c)
	secret := events.NewSecret()
	sealed, err := s.Secrets.Seal([]byte(secret), events.SecretAAD(t.ID))
	if err != nil {
		s.unavailable(c, "seal callback secret", err)
		return
	}
	if err := s.Store.SetCallback(c.Request.Context(), t.ID, req.URL, sealed); err != nil {
		s.unavailable(c, "set callback", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"url": req.URL, "secret": secret})
}

func (s *Server) getCallback(c *gin.Context) {
	cb, err := s.Store.GetCallback(c.Request.Context(), tenantOf(c).ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(c, problem(http.StatusNotFound, CodeNotFound, "No callback is registered."))
		return
	case err != nil:
		s.unavailable(c, "get callback", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"url": cb.URL})
}

func (s *Server) deleteCallback(c *gin.Context) {
	if err := s.Store.DeleteCallback(c.Request.Context(), tenantOf(c).ID); err != nil {
		s.unavailable(c, "delete callback", err)
		return
	}
	c.Status(http.StatusNoContent)
}

// eventView is an outbound event as the API lists it (not its body).
type eventView struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	LastStatus  *int       `json:"last_status"`
	LastError   *string    `json:"last_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
}

func viewEvent(e store.OutboundEvent) eventView {
	v := eventView{ID: events.EventID(e.ID), Type: e.Type, Status: e.Status, Attempts: e.Attempts, LastStatus: e.LastStatus,
		CreatedAt: e.CreatedAt.UTC(), DeliveredAt: e.DeliveredAt}
	if e.LastError != "" {
		v.LastError = &e.LastError
	}
	if v.DeliveredAt != nil {
		at := v.DeliveredAt.UTC()
		v.DeliveredAt = &at
	}
	return v
}

func (s *Server) listEvents(c *gin.Context) {
	v, ok := s.load(c)
	if !ok {
		return
	}
	evs, err := s.Store.OutboundEvents(c.Request.Context(), v.TenantID, v.ID)
	if err != nil {
		s.unavailable(c, "list events", err)
		return
	}
	out := make([]eventView, 0, len(evs))
	for _, e := range evs {
		out = append(out, viewEvent(e))
	}
	c.JSON(http.StatusOK, gin.H{"events": out})
}

// resendEvent makes an event pending again and starts a new delivery
// workflow for it. When the start fails the event stays pending and the
// worker's event relay starts it.
func (s *Server) resendEvent(c *gin.Context) {
	v, ok := s.load(c)
	if !ok {
		return
	}
	id, ok := events.ParseEventID(c.Param("event_id"))
	if !ok {
		writeProblem(c, problem(http.StatusNotFound, CodeNotFound, "No such event."))
		return
	}
	ctx := c.Request.Context()
	if _, err := s.Store.GetCallback(ctx, v.TenantID); errors.Is(err, store.ErrNotFound) {
		writeProblem(c, problem(http.StatusConflict, CodeNoCallback, "No callback is registered: PUT /v1/callback first."))
		return
	} else if err != nil {
		s.unavailable(c, "get callback", err)
		return
	}
	wf := events.ResendWorkflowID(v.ID, id, time.Now())
	switch err := s.Store.ResendOutboundEvent(ctx, v.TenantID, v.ID, id, wf); {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(c, problem(http.StatusNotFound, CodeNotFound, "No such event."))
		return
	case err != nil:
		s.unavailable(c, "resend event", err)
		return
	}
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: wf, TaskQueue: contract.TaskQueue, WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary: "resend " + events.EventID(id),
	}, contract.WorkflowDeliverEvent, id)
	if err != nil {
		s.Log.WarnContext(ctx, "start event resend; the relay will start it", "event_id", events.EventID(id), "error", err)
	} else if err := s.Store.MarkOutboundStarted(ctx, id, wf); err != nil {
		s.Log.WarnContext(ctx, "mark event resend started", "event_id", events.EventID(id), "error", err)
	}
	evs, err := s.Store.OutboundEvents(ctx, v.TenantID, v.ID)
	if err == nil {
		for _, e := range evs {
			if e.ID == id {
				c.JSON(http.StatusAccepted, viewEvent(e))
				return
			}
		}
	}
	c.JSON(http.StatusAccepted, gin.H{"id": events.EventID(id), "status": store.OutboundPending})
}
