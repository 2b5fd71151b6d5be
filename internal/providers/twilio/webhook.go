package twilio

import (
	"net/http"
	"net/url"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/problem"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/receipts/intake"
)

// MaxStatusBody bounds the body of a status callback (of a message or a
// call); anything bigger is refused (413) before parsing.
const MaxStatusBody = 64 << 10

// FormWebhook serves one kind of Twilio's status callbacks (POST Path): a
// form signed with X-Twilio-Signature over the full URL Twilio called. It
// answers 204 once the receipt is stored; 403 on a bad signature, 413 on a
// body over 64 KiB, 400 on a body that is not a form or a form Parse
// refuses, 404 while Verifier or Endpoint.Receipts is nil. Both Twilio
// plug-ins (message and call status callbacks) use it, each with its own
// path and parser.
type FormWebhook struct {
	// Path is the route's path (StatusPath, the voice plug-in's).
	Path string
	// PublicBaseURL is the scheme and host Twilio calls (a proxy in front
	// of Veriflow may rewrite them, and the signature covers them).
	PublicBaseURL string
	// Verifier is nil when the plug-in is not configured (404).
	Verifier *SignatureVerifier
	// Endpoint stores receipts and answers the refusals.
	Endpoint intake.Endpoint
	// Parse turns a verified callback form into its receipt.
	Parse func(url.Values) (contract.Receipt, error)
	// NotCallback is the detail of the 400 answer to a form Parse refuses.
	NotCallback string
}

// NewFormWebhook returns the webhook of path for a Twilio plug-in named
// name: unconfigured (404) unless enabled, else checking signatures with
// the primary and secondary auth tokens and storing receipts in
// env.Receipts.
func NewFormWebhook(name, path string, env providers.Env, enabled bool, authToken, authTokenSecondary string) *FormWebhook {
	w := &FormWebhook{Path: path, PublicBaseURL: env.PublicBaseURL}
	w.Endpoint.Name, w.Endpoint.Log = name, env.Log
	if enabled {
		w.Verifier = NewSignatureVerifier(authToken, authTokenSecondary)
		w.Endpoint.Receipts = env.Receipts
	}
	return w
}

// Routes implements providers.Webhook.
func (h *FormWebhook) Routes() []providers.Route {
	return []providers.Route{{Method: http.MethodPost, Path: h.Path, Handler: h}}
}

// ServeHTTP answers 204 once the receipt is stored.
func (h *FormWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.Verifier == nil || h.Endpoint.Receipts == nil {
		h.Endpoint.NotConfigured(w)
		return
	}
	h.Endpoint.Limit(w, r, MaxStatusBody)
	if err := r.ParseForm(); err != nil {
		if intake.TooLarge(err) {
			problem.TooLarge(w)
			return
		}
		problem.BadRequest(w, "The body is not a form.")
		return
	}
	if !h.Verifier.Verify(h.PublicBaseURL+r.URL.RequestURI(), r.PostForm, r.Header.Get("X-Twilio-Signature")) {
		h.Endpoint.BadSignature(w, r)
		return
	}
	rc, err := h.Parse(r.PostForm)
	if err != nil {
		problem.BadRequest(w, h.NotCallback)
		return
	}
	if !h.Endpoint.Deliver(w, r, rc) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
