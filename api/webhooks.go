package api

import (
	"github.com/gin-gonic/gin"

	"github.com/veriflow/veriflow/internal/providers"
)

// Webhooks are the providers' webhooks (delivery receipts, Meta's
// subscription challenge). Each provider's plug-in builds its own handler
// (signature check, parsing, answers); the API only mounts its routes, and
// knows no provider.
type Webhooks []providers.Webhook

func (s *Server) registerWebhooks(e *gin.Engine) {
	for _, w := range s.Webhooks {
		if w == nil {
			continue
		}
		for _, r := range w.Routes() {
			e.Handle(r.Method, r.Path, gin.WrapH(r.Handler))
		}
	}
}
