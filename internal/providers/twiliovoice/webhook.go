package twiliovoice

import (
	"net/http"

	"github.com/veriflow/veriflow/internal/problem"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/providers/twilio"
	"github.com/veriflow/veriflow/internal/receipts/intake"
)

// maxStatusBody bounds a call status callback's body; anything bigger is
// refused before parsing.
const maxStatusBody = 64 << 10

// webhook serves Twilio's call status callbacks (POST StatusPath): a form
// signed with X-Twilio-Signature over the full URL Twilio called, as the
// message status callbacks are.
type webhook struct {
	// publicBaseURL is the scheme and host Twilio calls (the signature
	// covers them).
	publicBaseURL string
	// amd: this deployment asks for answering-machine detection.
	amd bool
	// verifier is nil when the voice channel is not configured (404).
	verifier *twilio.SignatureVerifier
	endpoint intake.Endpoint
}

// Routes implements providers.Webhook.
func (h *webhook) Routes() []providers.Route {
	return []providers.Route{{Method: http.MethodPost, Path: StatusPath, Handler: h}}
}

// ServeHTTP answers 204 once the receipt is stored; 403 on a bad
// signature, 413 on a body over 64 KiB, 400 on a form that is not a call
// status callback, 404 when voice is not configured.
func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.verifier == nil || h.endpoint.Receipts == nil {
		h.endpoint.NotConfigured(w)
		return
	}
	h.endpoint.Limit(w, r, maxStatusBody)
	if err := r.ParseForm(); err != nil {
		if intake.TooLarge(err) {
			problem.TooLarge(w)
			return
		}
		problem.BadRequest(w, "The body is not a form.")
		return
	}
	if !h.verifier.Verify(h.publicBaseURL+r.URL.RequestURI(), r.PostForm, r.Header.Get("X-Twilio-Signature")) {
		h.endpoint.BadSignature(w, r)
		return
	}
	rc, err := ParseCallStatus(r.PostForm, h.amd)
	if err != nil {
		problem.BadRequest(w, "Not a Twilio call status callback.")
		return
	}
	if !h.endpoint.Deliver(w, r, rc) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
