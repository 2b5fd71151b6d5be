// Package twiliovoice is the voice channel of Veriflow through Twilio
// Programmable Voice: it places a call whose inline TwiML speaks the code
// digit by digit, twice, in the message's locale (no URL carries the
// code), maps the Calls API's errors to permanent or retryable failures,
// and turns Twilio's signed call status callbacks into receipts.
//
// It shares the Twilio account of the twilio plug-in and that package's
// Twilio plumbing (credentials and their checks, the twilio-go client
// setup, the error classification, the signed-form webhook) but is a
// plug-in of its own, with its own error table and callback path, enabled
// when a voice caller id (TWILIO_VOICE_FROM) is configured.
package twiliovoice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/providers/twilio"
)

// Name is the provider name of Twilio calls and their receipts (routing:
// VERIFLOW_CHANNEL_VOICE=twiliovoice).
const Name = "twiliovoice"

// Answering-machine detection modes of the Calls API (MachineDetection).
const (
	// DetectEnable ends detection as soon as a human or a machine is
	// recognised.
	DetectEnable = "Enable"
	// DetectMessageEnd waits for the end of a machine's greeting.
	DetectMessageEnd = "DetectMessageEnd"
)

// statusEvents are the call progress events Twilio reports to the status
// callback.
func statusEvents() []string { return []string{"initiated", "ringing", "answered", "completed"} }

// Config configures the voice adapter.
type Config struct {
	// AccountSID (AC…) and AuthToken are the Twilio account's credentials
	// (the same as the twilio plug-in's).
	AccountSID string
	AuthToken  string
	// AuthTokenSecondary is accepted on webhooks too, during a rotation.
	AuthTokenSecondary string
	// From is the caller id (E.164): a Twilio number or a verified caller id.
	From string
	// MachineDetection is "" (off), DetectEnable or DetectMessageEnd: a
	// call answered by a machine then fails with
	// contract.ReasonAnsweringMachine.
	MachineDetection string
	// SayVoice is the optional voice attribute of <Say> (for example a
	// multilingual voice); empty lets Twilio pick its default per language.
	SayVoice string
	// StatusCallbackURL is PUBLIC_BASE_URL + "/webhooks/twilio/voice";
	// empty sends no status callback (calls then get no receipts).
	StatusCallbackURL string
	// HTTPClient lets tests point the adapter at a mock (a transport that
	// rewrites the scheme/host of requests). nil = default client with a
	// 10 s timeout that does not follow redirects.
	HTTPClient *http.Client
	// Log receives operator alerts (a wrong caller id, bad credentials);
	// nil discards them.
	Log *slog.Logger
}

// Validate reports the problems of c as a sender configuration. It never
// quotes the auth token.
func (c Config) Validate() error {
	errs := twilio.CredentialErrors(c.AccountSID, c.AuthToken)
	if !twilio.IsE164(c.From) {
		errs = append(errs, errors.New("the voice From number (TWILIO_VOICE_FROM) must be E.164 (+ and up to 15 digits)"))
	}
	switch c.MachineDetection {
	case "", DetectEnable, DetectMessageEnd:
	default:
		errs = append(errs, errors.New("MachineDetection (TWILIO_VOICE_MACHINE_DETECTION) must be empty, Enable or DetectMessageEnd"))
	}
	if !validVoice(c.SayVoice) {
		errs = append(errs, errors.New("SayVoice (TWILIO_VOICE_SAY_VOICE) may hold letters, digits, '.', '-' and '_' only (up to 64)"))
	}
	if err := twilio.CallbackURLError(c.StatusCallbackURL); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("twiliovoice: invalid config: %w", err)
	}
	return nil
}

// Provider places voice calls through Twilio. It is safe for concurrent use.
type Provider struct {
	cfg  Config
	http *http.Client
	log  *slog.Logger
}

var _ providers.Provider = (*Provider)(nil)

// New validates cfg and returns the voice provider.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = twilio.NewHTTPClient()
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.HTTPClient, cfg.Log = nil, nil // only p.http and p.log are used from here on
	return &Provider{cfg: cfg, http: hc, log: log}, nil
}

// Name implements providers.Provider; it returns "twiliovoice".
func (p *Provider) Name() string { return Name }

// Send implements providers.Provider: it creates a Twilio Call to m.To
// whose inline TwiML says m.Text (the voice script of messages.Render, one
// spoken segment per line) in m.Locale. The message id is the Call SID.
//
// Another channel, an invalid destination, an empty script and Calls API
// errors meaning the destination cannot take this call are
// *providers.PermanentError (see ErrorReason); rate limiting, 5xx answers,
// network errors and timeouts are plain errors the caller retries. Errors
// never hold the script, the code or the auth token, nor Twilio's message.
func (p *Provider) Send(ctx context.Context, m providers.Message) (providers.Result, error) {
	params, err := p.params(m)
	if err != nil {
		return providers.Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return providers.Result{}, fmt.Errorf("twiliovoice: call: %w", context.Cause(ctx))
	}
	svc, done := twilio.NewAPIService(ctx, p.http, p.cfg.AccountSID, p.cfg.AuthToken)
	call, err := svc.CreateCall(params)
	status := done()
	if err != nil {
		rule, err := twilio.Classify(ctx, "twiliovoice: call", errorTable(), err, status)
		if rule.Alert {
			p.log.ErrorContext(ctx, "voice calls fail until an operator fixes the Twilio voice setup; verifications fail over to the next channel",
				"provider", Name, "reason", rule.Reason, "error", err)
		}
		return providers.Result{}, err
	}
	if call == nil || call.Sid == nil || *call.Sid == "" {
		// Accepted but unreadable: not permanent (a retry may call twice,
		// which beats not calling).
		return providers.Result{}, fmt.Errorf("twiliovoice: call: answer without a call SID (HTTP %d)", status)
	}
	return providers.Result{MessageID: *call.Sid}, nil
}

// params builds the Call create parameters of m, or a permanent error when
// m cannot be sent by this provider.
func (p *Provider) params(m providers.Message) (*api.CreateCallParams, error) {
	if m.Channel != contract.ChannelVoice {
		return nil, &providers.PermanentError{Reason: contract.ReasonChannelNotSupported, Err: fmt.Errorf("twiliovoice: channel %q not supported", m.Channel)}
	}
	if !twilio.IsE164(m.To) {
		return nil, &providers.PermanentError{Reason: contract.ReasonInvalidNumber, Err: errors.New("twiliovoice: destination is not an E.164 number")}
	}
	doc, err := TwiML(m.Text, m.Locale, p.cfg.SayVoice)
	if err != nil {
		return nil, &providers.PermanentError{Reason: contract.ReasonInvalidMessage, Err: err}
	}
	params := &api.CreateCallParams{}
	params.SetTo(m.To).SetFrom(p.cfg.From).SetTwiml(doc)
	if p.cfg.StatusCallbackURL != "" {
		params.SetStatusCallback(p.cfg.StatusCallbackURL).
			SetStatusCallbackMethod(http.MethodPost).
			SetStatusCallbackEvent(statusEvents())
	}
	if p.cfg.MachineDetection != "" {
		params.SetMachineDetection(p.cfg.MachineDetection)
	}
	return params, nil
}

// validVoice reports whether v is empty or a plausible <Say> voice name
// ("alice", "Polly.Joanna-Neural", "Google.it-IT-Standard-A").
func validVoice(v string) bool {
	if len(v) > 64 {
		return false
	}
	for _, r := range v {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
