package twilio

import (
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

// StatusPath is the path of Twilio's status callbacks.
const StatusPath = "/webhooks/twilio/status"

// Plugin registers Twilio (SMS, WhatsApp with a content template, and RCS
// from an RCS sender).
func Plugin() providers.Plugin {
	return providers.Plugin{
		Name:     Name,
		Channels: []contract.Channel{contract.ChannelWhatsApp, contract.ChannelRCS, contract.ChannelSMS},
		Load:     load,
	}
}

// load is the plug-in's Load.
func load(get func(string) string) (providers.Settings, error) { return ConfigFromEnv(get), nil }

// ConfigFromEnv reads the TWILIO_* variables with get. The sender's
// settings are validated when it is built (Validate).
func ConfigFromEnv(get func(string) string) Config {
	return Config{
		AccountSID:          get("TWILIO_ACCOUNT_SID"),
		AuthToken:           get("TWILIO_AUTH_TOKEN"),
		AuthTokenSecondary:  get("TWILIO_AUTH_TOKEN_SECONDARY"),
		MessagingServiceSID: get("TWILIO_MESSAGING_SERVICE_SID"),
		From:                get("TWILIO_FROM"),
		WhatsAppFrom:        get("TWILIO_WHATSAPP_FROM"),
		ContentSID:          get("TWILIO_WHATSAPP_CONTENT_SID"),
		RCSSender:           get("TWILIO_RCS_SENDER"),
	}
}

// Enabled implements providers.Settings: the account's credentials are set.
func (c Config) Enabled() bool { return c.AccountSID != "" && c.AuthToken != "" }

// DefaultChannels implements providers.Settings: SMS, WhatsApp when a
// content template is configured, and RCS when an RCS sender is.
func (c Config) DefaultChannels() []contract.Channel {
	if !c.Enabled() {
		return nil
	}
	var chs []contract.Channel
	if c.ContentSID != "" {
		chs = append(chs, contract.ChannelWhatsApp)
	}
	if c.rcsEnabled() {
		chs = append(chs, contract.ChannelRCS)
	}
	return append(chs, contract.ChannelSMS)
}

// Sender implements providers.Settings: the provider, with its status
// callbacks sent to env's public base URL.
func (c Config) Sender(env providers.Env) (providers.Provider, error) {
	c.StatusCallbackURL = env.CallbackURL(StatusPath)
	if env.HTTPClient != nil {
		c.HTTPClient = env.HTTPClient
	}
	p, err := New(c)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Webhook implements providers.Settings: the status callback endpoint,
// which checks signatures with the primary and secondary auth tokens.
func (c Config) Webhook(env providers.Env) providers.Webhook {
	w := &webhook{publicBaseURL: env.PublicBaseURL}
	w.endpoint.Name, w.endpoint.Log = Name, env.Log
	if c.Enabled() {
		w.verifier = NewSignatureVerifier(c.AuthToken, c.AuthTokenSecondary)
		w.endpoint.Receipts = env.Receipts
	}
	return w
}
