// Package intake is what every provider webhook shares on the way into the
// receipts path: the body limit, the answers (problem+json 404 when the
// webhook is not configured, 403 on a bad signature, 413 on a body over
// the limit, 503 when a receipt cannot be stored), handing the parsed
// receipts to the Ingester, and the log. The provider's own handler does
// the rest: its signature check, its parsing, its success answer.
//
// It has no storage in it: providers use it without depending on the
// store (the Ingester, the receipts service, is handed to them).
package intake

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/problem"
	"github.com/veriflow/veriflow/internal/providers"
)

// Endpoint is the shared half of one provider webhook endpoint.
type Endpoint struct {
	// Name names the webhook in logs ("twilio", "whatsapp").
	Name string
	// Receipts takes the parsed receipts; nil means the webhook is not
	// configured.
	Receipts providers.Ingester
	// Log receives the receipts and the refused requests; nil discards.
	Log *slog.Logger
}

func (e Endpoint) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// NotConfigured answers 404: the provider's secret is not configured.
func (e Endpoint) NotConfigured(w http.ResponseWriter) {
	problem.NotFound(w, "This webhook is not configured.")
}

// Forbidden answers 403 to a request whose signature or token is wrong.
func (e Endpoint) Forbidden(w http.ResponseWriter) {
	problem.Forbidden(w, "The signature is missing or invalid.")
}

// BadSignature logs a request with a bad signature and answers 403.
func (e Endpoint) BadSignature(w http.ResponseWriter, r *http.Request) {
	e.log().WarnContext(r.Context(), e.Name+" webhook with a bad signature", "remote", r.RemoteAddr)
	e.Forbidden(w)
}

// Limit makes reading r's body fail after max bytes (see TooLarge).
func (e Endpoint) Limit(w http.ResponseWriter, r *http.Request, max int64) {
	r.Body = http.MaxBytesReader(w, r.Body, max)
}

// TooLarge reports whether err comes from a body over Limit's bound.
func TooLarge(err error) bool {
	var tooBig *http.MaxBytesError
	return errors.As(err, &tooBig)
}

// ReadBody reads at most max bytes of r's body. When the body cannot be
// read (it is over max, or the connection failed) it answers 413 and
// reports false.
func (e Endpoint) ReadBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		problem.TooLarge(w)
		return nil, false
	}
	return body, true
}

// Deliver hands each receipt to the Ingester and logs it. When one cannot
// be stored it answers 503, so that the provider retries, and reports
// false; the receipts before it are stored (a retry stores them once).
func (e Endpoint) Deliver(w http.ResponseWriter, r *http.Request, receipts ...contract.Receipt) bool {
	ctx := r.Context()
	for _, rc := range receipts {
		if err := e.Receipts.Ingest(ctx, rc); err != nil {
			e.log().ErrorContext(ctx, "ingest receipt failed", "webhook", e.Name, "error", err)
			problem.Unavailable(w)
			return false
		}
		e.log().LogAttrs(ctx, slog.LevelInfo, "receipt", slog.String("provider", rc.Provider),
			slog.String("message_id", rc.MessageID), slog.String("status", string(rc.Status)), slog.String("error", string(rc.Error)))
	}
	return true
}
