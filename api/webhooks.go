package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers/meta"
	"github.com/veriflow/veriflow/internal/providers/twilio"
)

// Ingester takes normalized receipts (the receipts service): it stores
// each one before signalling its verification.
type Ingester interface {
	Ingest(ctx context.Context, r contract.Receipt) error
}

// Webhooks configures the provider webhooks. A provider whose secret is
// not configured answers 404 on its routes.
type Webhooks struct {
	// PublicBaseURL is the scheme and host providers call (Twilio signs the
	// full URL it called, which a proxy in front of Veriflow may rewrite).
	PublicBaseURL string
	// Twilio verifies X-Twilio-Signature (primary and secondary token).
	Twilio *twilio.SignatureVerifier
	// MetaAppSecret verifies X-Hub-Signature-256; MetaVerifyToken answers
	// the subscription challenge.
	MetaAppSecret   string
	MetaVerifyToken string
	Receipts        Ingester
}

// Webhook bodies are small; anything bigger is refused before parsing.
const (
	maxTwilioBody = 64 << 10
	maxMetaBody   = 1 << 20
)

func (s *Server) registerWebhooks(e *gin.Engine) {
	e.POST("/webhooks/twilio/status", s.twilioStatus)
	e.GET("/webhooks/whatsapp", s.whatsappChallenge)
	e.POST("/webhooks/whatsapp", s.whatsappNotification)
}

func webhookNotConfigured(c *gin.Context) {
	writeProblem(c, problem(http.StatusNotFound, CodeNotFound, "This webhook is not configured."))
}

func forbidden(c *gin.Context) {
	writeProblem(c, problem(http.StatusForbidden, CodeForbidden, "The signature is missing or invalid."))
}

func (s *Server) twilioStatus(c *gin.Context) {
	w := s.Webhooks
	if w.Twilio == nil || w.Receipts == nil {
		webhookNotConfigured(c)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxTwilioBody)
	if err := c.Request.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(c, problem(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "The body is too large."))
			return
		}
		writeProblem(c, problem(http.StatusBadRequest, CodeInvalidRequest, "The body is not a form."))
		return
	}
	url := w.PublicBaseURL + c.Request.URL.RequestURI()
	if !w.Twilio.Verify(url, c.Request.PostForm, c.GetHeader("X-Twilio-Signature")) {
		s.Log.WarnContext(c.Request.Context(), "twilio webhook with a bad signature", "remote", c.ClientIP())
		forbidden(c)
		return
	}
	r, err := twilio.ParseStatusCallback(c.Request.PostForm)
	if err != nil {
		writeProblem(c, problem(http.StatusBadRequest, CodeInvalidRequest, "Not a Twilio status callback."))
		return
	}
	if !s.ingest(c, r) {
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) whatsappChallenge(c *gin.Context) {
	if s.Webhooks.MetaVerifyToken == "" {
		webhookNotConfigured(c)
		return
	}
	challenge, ok := meta.Challenge(c.Request.URL.Query(), s.Webhooks.MetaVerifyToken)
	if !ok {
		forbidden(c)
		return
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(challenge))
}

func (s *Server) whatsappNotification(c *gin.Context) {
	w := s.Webhooks
	if w.MetaAppSecret == "" || w.Receipts == nil {
		webhookNotConfigured(c)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxMetaBody))
	if err != nil {
		writeProblem(c, problem(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "The body is too large."))
		return
	}
	if !meta.VerifySignature(w.MetaAppSecret, body, c.GetHeader("X-Hub-Signature-256")) {
		s.Log.WarnContext(c.Request.Context(), "whatsapp webhook with a bad signature", "remote", c.ClientIP())
		forbidden(c)
		return
	}
	receipts, err := meta.ParseWebhook(body)
	if err != nil {
		writeProblem(c, problem(http.StatusBadRequest, CodeInvalidRequest, "Not a WhatsApp Business notification."))
		return
	}
	for _, r := range receipts {
		if !s.ingest(c, r) {
			return
		}
	}
	c.Status(http.StatusOK)
}

// ingest stores one receipt; on failure it answers 503 so the provider
// retries, and reports false.
func (s *Server) ingest(c *gin.Context, r contract.Receipt) bool {
	if err := s.Webhooks.Receipts.Ingest(c.Request.Context(), r); err != nil {
		s.unavailable(c, "ingest receipt", err)
		return false
	}
	s.Log.LogAttrs(c.Request.Context(), slog.LevelInfo, "receipt", slog.String("provider", r.Provider),
		slog.String("message_id", r.MessageID), slog.String("status", string(r.Status)), slog.String("error", string(r.Error)))
	return true
}
