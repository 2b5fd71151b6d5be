package meta

import (
	"net/http"

	"github.com/veriflow/veriflow/internal/problem"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/receipts/intake"
)

// maxNotificationBody bounds a notification's body; anything bigger is
// refused before verifying and parsing.
const maxNotificationBody = 1 << 20

// webhook serves the Cloud API's webhook: the subscription challenge (GET)
// and the signed notifications (POST).
type webhook struct {
	// appSecret verifies X-Hub-Signature-256 ("": notifications 404).
	appSecret string
	// verifyToken answers the challenge ("": the challenge 404s).
	verifyToken string
	endpoint    intake.Endpoint
}

// Routes implements providers.Webhook.
func (h *webhook) Routes() []providers.Route {
	return []providers.Route{
		{Method: http.MethodGet, Path: WebhookPath, Handler: http.HandlerFunc(h.challenge)},
		{Method: http.MethodPost, Path: WebhookPath, Handler: http.HandlerFunc(h.notification)},
	}
}

// challenge writes the challenge back (200, text/plain) when the verify
// token matches.
func (h *webhook) challenge(w http.ResponseWriter, r *http.Request) {
	if h.verifyToken == "" {
		h.endpoint.NotConfigured(w)
		return
	}
	challenge, ok := Challenge(r.URL.Query(), h.verifyToken)
	if !ok {
		h.endpoint.Forbidden(w)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(challenge)) // the caller went away: nothing to do
}

// notification answers 200 once every receipt of the notification is
// stored.
func (h *webhook) notification(w http.ResponseWriter, r *http.Request) {
	if h.appSecret == "" || h.endpoint.Receipts == nil {
		h.endpoint.NotConfigured(w)
		return
	}
	body, ok := h.endpoint.ReadBody(w, r, maxNotificationBody)
	if !ok {
		return
	}
	if !VerifySignature(h.appSecret, body, r.Header.Get("X-Hub-Signature-256")) {
		h.endpoint.BadSignature(w, r)
		return
	}
	receipts, err := ParseWebhook(body)
	if err != nil {
		problem.BadRequest(w, "Not a WhatsApp Business notification.")
		return
	}
	if !h.endpoint.Deliver(w, r, receipts...) {
		return
	}
	w.WriteHeader(http.StatusOK)
}
