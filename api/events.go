package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/veriflow/veriflow/internal/events"
	"github.com/veriflow/veriflow/internal/store"
)

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
	secret, err := s.verify.SetCallback(c.Request.Context(), tenantOf(c).ID, req.URL)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"url": req.URL, "secret": secret})
}

func (s *Server) getCallback(c *gin.Context) {
	url, err := s.verify.Callback(c.Request.Context(), tenantOf(c).ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"url": url})
}

func (s *Server) deleteCallback(c *gin.Context) {
	if err := s.verify.DeleteCallback(c.Request.Context(), tenantOf(c).ID); err != nil {
		s.fail(c, err)
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
	evs, err := s.verify.Events(c.Request.Context(), tenantOf(c).ID, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]eventView, 0, len(evs))
	for _, e := range evs {
		out = append(out, viewEvent(e))
	}
	c.JSON(http.StatusOK, gin.H{"events": out})
}

// resendEvent makes an event pending again and starts a new delivery for
// it (verify.ResendEvent).
func (s *Server) resendEvent(c *gin.Context) {
	r, err := s.verify.ResendEvent(c.Request.Context(), tenantOf(c).ID, c.Param("id"), c.Param("event_id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	if r.Event != nil {
		c.JSON(http.StatusAccepted, viewEvent(*r.Event))
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"id": events.EventID(r.ID), "status": store.OutboundPending})
}
