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
	c := Config{
		MessagingServiceSID: get("TWILIO_MESSAGING_SERVICE_SID"),
		From:                get("TWILIO_FROM"),
		WhatsAppFrom:        get("TWILIO_WHATSAPP_FROM"),
		ContentSID:          get("TWILIO_WHATSAPP_CONTENT_SID"),
		RCSSender:           get("TWILIO_RCS_SENDER"),
	}
	c.AccountSID, c.AuthToken, c.AuthTokenSecondary = CredentialsFromEnv(get)
	return c
}

// CredentialsFromEnv reads the account's credentials, shared by every
// Twilio plug-in, with get: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and
// TWILIO_AUTH_TOKEN_SECONDARY (accepted on webhooks during a rotation).
func CredentialsFromEnv(get func(string) string) (accountSID, authToken, authTokenSecondary string) {
	return get("TWILIO_ACCOUNT_SID"), get("TWILIO_AUTH_TOKEN"), get("TWILIO_AUTH_TOKEN_SECONDARY")
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
	w := NewFormWebhook(Name, StatusPath, env, c.Enabled(), c.AuthToken, c.AuthTokenSecondary)
	w.Parse, w.NotCallback = ParseStatusCallback, "Not a Twilio status callback."
	return w
}
