// Package twilio is the Twilio adapter of Veriflow: it sends codes by SMS,
// by WhatsApp (an approved authentication template of the Content API) and
// as direct RCS messages (from an RCS sender, without Twilio's own SMS
// fallback) through Twilio's Messages API, maps Twilio's errors to permanent or
// retryable failures, and verifies and parses Twilio's status callbacks.
//
// It uses twilio-go's client and 2010-04-01 API packages only.
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

// Name is the provider name of Twilio messages and receipts.
const Name = "twilio"

// whatsAppPrefix is Twilio's channel prefix of WhatsApp addresses.
const whatsAppPrefix = "whatsapp:"

// Config configures the Twilio adapter.
type Config struct {
	// AccountSID (AC…) and AuthToken are the account's credentials.
	AccountSID string
	AuthToken  string
	// AuthTokenSecondary is accepted on webhooks too, during a rotation.
	AuthTokenSecondary string
	// SMS: MessagingServiceSID (preferred) or From (E.164).
	MessagingServiceSID string
	From                string
	// WhatsApp: WhatsAppFrom is the sender "whatsapp:+E164" (or use
	// MessagingServiceSID); ContentSID is the approved authentication
	// template (Content API), whose variable "1" is the code.
	WhatsAppFrom string
	ContentSID   string
	// RCSSender is the RCS sender (agent) RCS codes come from, in Twilio's
	// address form "rcs:<sender id>" (e.g. "rcs:acme_otp_agent"); a bare
	// sender id gets the "rcs:" prefix (see normalizeRCSSender). RCS needs
	// it: a Messaging Service alone is never used for RCS, since Twilio
	// would fall back to SMS by itself and take the decision away from
	// the verification's plan.
	RCSSender string
	// StatusCallbackURL is PUBLIC_BASE_URL + "/webhooks/twilio/status".
	// Empty means no StatusCallback parameter (the Messaging Service's own
	// callback URL, if any, applies).
	StatusCallbackURL string
	// HTTPClient lets tests point the adapter at a mock (twilio-go has no
	// base URL option: use a transport that rewrites the scheme/host of
	// requests to the mock's address). nil = default client with a 10 s
	// timeout that does not follow redirects.
	HTTPClient *http.Client
}

// smsEnabled reports whether c configures an SMS sender.
func (c Config) smsEnabled() bool { return c.MessagingServiceSID != "" || c.From != "" }

// whatsAppEnabled reports whether c configures a WhatsApp sender and template.
func (c Config) whatsAppEnabled() bool {
	return c.ContentSID != "" && (c.WhatsAppFrom != "" || c.MessagingServiceSID != "")
}

// Validate reports the problems of c as a sender configuration. It never
// quotes the auth token.
func (c Config) Validate() error {
	errs := CredentialErrors(c.AccountSID, c.AuthToken)
	if c.MessagingServiceSID != "" && !IsSID(c.MessagingServiceSID, "MG") {
		errs = append(errs, errors.New("MessagingServiceSID must match ^MG[0-9a-fA-F]{32}$"))
	}
	if c.From != "" && !IsE164(c.From) {
		errs = append(errs, errors.New("the From number must be E.164 (+ and up to 15 digits)"))
	}
	if c.WhatsAppFrom != "" {
		if n, ok := strings.CutPrefix(c.WhatsAppFrom, whatsAppPrefix); !ok || !IsE164(n) {
			errs = append(errs, errors.New(`WhatsAppFrom must be "whatsapp:" followed by an E.164 number`))
		}
		if c.ContentSID == "" {
			errs = append(errs, errors.New("WhatsAppFrom needs ContentSID (WhatsApp codes are sent with an approved template)"))
		}
	}
	if c.ContentSID != "" {
		if !IsSID(c.ContentSID, "HX") {
			errs = append(errs, errors.New("ContentSID must match ^HX[0-9a-fA-F]{32}$"))
		}
		if c.WhatsAppFrom == "" && c.MessagingServiceSID == "" {
			errs = append(errs, errors.New("ContentSID needs WhatsAppFrom or MessagingServiceSID"))
		}
	}
	if c.RCSSender != "" && !validRCSSender(c.RCSSender) {
		errs = append(errs, errors.New(`RCSSender must be "rcs:" followed by the sender id (letters, digits, "_", "-", ".")`))
	}
	if !c.smsEnabled() && !c.whatsAppEnabled() && !c.rcsEnabled() {
		errs = append(errs, errors.New("no channel configured: set MessagingServiceSID or From (SMS), WhatsAppFrom and ContentSID (WhatsApp), and/or RCSSender (RCS)"))
	}
	if err := CallbackURLError(c.StatusCallbackURL); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("twilio: invalid config: %w", err)
	}
	return nil
}

// Provider sends SMS, WhatsApp and RCS codes through Twilio. It is safe for
// concurrent use.
type Provider struct {
	cfg  Config
	http *http.Client
}

var _ providers.Provider = (*Provider)(nil)

// New validates cfg and returns the Twilio provider.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = NewHTTPClient()
	}
	cfg.HTTPClient = nil // only p.http is used from here on
	cfg.RCSSender = normalizeRCSSender(cfg.RCSSender)
	return &Provider{cfg: cfg, http: hc}, nil
}

// Name implements providers.Provider; it returns "twilio".
func (p *Provider) Name() string { return Name }

// Send implements providers.Provider: it creates a Twilio Message for m.
//
// SMS messages carry m.Text; WhatsApp messages use the ContentSID template
// with the code as variable "1"; RCS messages carry m.Text from the RCS
// sender to "rcs:" + m.To (see rcsParams). Email, an unconfigured channel, an
// invalid destination and Twilio errors meaning the destination cannot
// receive on this channel are *providers.PermanentError (see ErrorReason);
// rate limiting, 5xx answers, network errors and timeouts are plain errors
// the caller retries. Errors never contain the code or the auth token, nor
// Twilio's error message (which may quote the destination): an API failure
// is an *APIError.
func (p *Provider) Send(ctx context.Context, m providers.Message) (providers.Result, error) {
	params, err := p.params(m)
	if err != nil {
		return providers.Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return providers.Result{}, fmt.Errorf("twilio: send %s: %w", m.Channel, context.Cause(ctx))
	}

	svc, done := NewAPIServiceAnswer(ctx, p.http, p.cfg.AccountSID, p.cfg.AuthToken)
	msg, err := svc.CreateMessage(params)
	ans := done()
	status := ans.Status
	if err != nil {
		_, err = ClassifyAnswer(ctx, fmt.Sprintf("twilio: send %s", m.Channel), errorTable(), err, ans)
		return providers.Result{}, err
	}
	if msg == nil || msg.Sid == nil || *msg.Sid == "" {
		// Accepted but unreadable: not permanent (a retry may send twice,
		// which beats sending nothing).
		return providers.Result{}, fmt.Errorf("twilio: send %s: answer without a message SID (HTTP %d)", m.Channel, status)
	}
	return providers.Result{MessageID: *msg.Sid}, nil
}

// params builds the Message create parameters of m, or a permanent error
// when m cannot be sent by this provider.
func (p *Provider) params(m providers.Message) (*api.CreateMessageParams, error) {
	params := &api.CreateMessageParams{}
	if p.cfg.StatusCallbackURL != "" {
		params.SetStatusCallback(p.cfg.StatusCallbackURL)
	}
	switch m.Channel {
	case contract.ChannelSMS:
		if !p.cfg.smsEnabled() {
			return nil, notConfigured(m.Channel)
		}
		if !IsE164(m.To) {
			return nil, &providers.PermanentError{Reason: contract.ReasonInvalidNumber, Err: errors.New("twilio: sms destination is not an E.164 number")}
		}
		if m.Text == "" {
			return nil, &providers.PermanentError{Reason: contract.ReasonInvalidMessage, Err: errors.New("twilio: sms message without text")}
		}
		params.SetTo(m.To).SetBody(m.Text)
		if p.cfg.MessagingServiceSID != "" {
			params.SetMessagingServiceSid(p.cfg.MessagingServiceSID)
		} else {
			params.SetFrom(p.cfg.From)
		}
	case contract.ChannelWhatsApp:
		if !p.cfg.whatsAppEnabled() {
			return nil, notConfigured(m.Channel)
		}
		if !IsE164(m.To) {
			return nil, &providers.PermanentError{Reason: contract.ReasonInvalidNumber, Err: errors.New("twilio: whatsapp destination is not an E.164 number")}
		}
		if m.Code == "" {
			return nil, &providers.PermanentError{Reason: contract.ReasonInvalidMessage, Err: errors.New("twilio: whatsapp message without a code")}
		}
		vars, err := json.Marshal(map[string]string{"1": m.Code})
		if err != nil {
			return nil, fmt.Errorf("twilio: content variables: %w", err)
		}
		params.SetTo(whatsAppPrefix + m.To).
			SetContentSid(p.cfg.ContentSID).
			SetContentVariables(string(vars))
		if p.cfg.WhatsAppFrom != "" {
			params.SetFrom(p.cfg.WhatsAppFrom)
		} else {
			params.SetMessagingServiceSid(p.cfg.MessagingServiceSID)
		}
	case contract.ChannelRCS:
		if err := p.rcsParams(params, m); err != nil {
			return nil, err
		}
	default:
		return nil, &providers.PermanentError{Reason: contract.ReasonChannelNotSupported, Err: fmt.Errorf("twilio: channel %q not supported", m.Channel)}
	}
	return params, nil
}

// notConfigured is the error of a channel Twilio could serve but whose
// sender is not configured.
func notConfigured(ch contract.Channel) error {
	return &providers.PermanentError{Reason: contract.ReasonChannelNotConfigured, Err: fmt.Errorf("%w: twilio %s", providers.ErrNotConfigured, ch)}
}
