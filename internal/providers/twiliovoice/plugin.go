package twiliovoice

import (
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/providers/twilio"
)

// StatusPath is the path of Twilio's call status callbacks.
const StatusPath = "/webhooks/twilio/voice"

// Plugin registers Twilio Programmable Voice (the voice channel).
func Plugin() providers.Plugin {
	return providers.Plugin{
		Name:     Name,
		Channels: []contract.Channel{contract.ChannelVoice},
		Load:     load,
	}
}

// load is the plug-in's Load.
func load(get func(string) string) (providers.Settings, error) { return ConfigFromEnv(get), nil }

// ConfigFromEnv reads the account's TWILIO_* credentials and the
// TWILIO_VOICE_* variables with get. The sender's settings are validated
// when it is built (Validate).
func ConfigFromEnv(get func(string) string) Config {
	c := Config{
		From:             get("TWILIO_VOICE_FROM"),
		MachineDetection: get("TWILIO_VOICE_MACHINE_DETECTION"),
		SayVoice:         get("TWILIO_VOICE_SAY_VOICE"),
	}
	c.AccountSID, c.AuthToken, c.AuthTokenSecondary = twilio.CredentialsFromEnv(get)
	return c
}

// Enabled implements providers.Settings: the account and a voice caller
// id are set.
func (c Config) Enabled() bool { return c.AccountSID != "" && c.From != "" }

// DefaultChannels implements providers.Settings: voice, when enabled.
func (c Config) DefaultChannels() []contract.Channel {
	if !c.Enabled() {
		return nil
	}
	return []contract.Channel{contract.ChannelVoice}
}

// Sender implements providers.Settings: the provider, with its status
// callbacks sent to env's public base URL.
func (c Config) Sender(env providers.Env) (providers.Provider, error) {
	c.StatusCallbackURL = env.CallbackURL(StatusPath)
	if env.HTTPClient != nil {
		c.HTTPClient = env.HTTPClient
	}
	c.Log = env.Log
	p, err := New(c)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Webhook implements providers.Settings: the call status callback
// endpoint, which checks signatures with the primary and secondary auth
// tokens; it answers 404 while voice is not enabled.
func (c Config) Webhook(env providers.Env) providers.Webhook {
	return webhook(env, c.Enabled(), c.MachineDetection != "", c.AuthToken, c.AuthTokenSecondary)
}
