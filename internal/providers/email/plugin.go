package email

import (
	"fmt"
	"strconv"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

// Plugin registers the SMTP relay (email).
func Plugin() providers.Plugin {
	return providers.Plugin{
		Name:     Name,
		Channels: []contract.Channel{contract.ChannelEmail},
		Load:     load,
	}
}

// load is the plug-in's Load.
func load(get func(string) string) (providers.Settings, error) {
	c, err := ConfigFromEnv(get)
	return c, err
}

// ConfigFromEnv reads the SMTP_* variables with get: SMTP_TLS defaults to
// starttls and SMTP_PORT to the port of the TLS mode. The error names an
// SMTP_PORT that is not a port; the rest is validated when the sender is
// built (New).
func ConfigFromEnv(get func(string) string) (Config, error) {
	c := Config{
		Host: get("SMTP_HOST"), Username: get("SMTP_USERNAME"), Password: get("SMTP_PASSWORD"),
		TLS: TLSMode(get("SMTP_TLS")), From: get("SMTP_FROM"), ReplyTo: get("SMTP_REPLY_TO"),
	}
	var err error
	if v := get("SMTP_PORT"); v != "" {
		port, perr := strconv.Atoi(v)
		if perr != nil || port <= 0 || port > 65535 {
			err = fmt.Errorf("SMTP_PORT: %q is not a port", v)
		}
		c.Port = port
	}
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		switch c.TLS {
		case TLSStartTLS, TLSImplicit, TLSNone:
			c.Port = defaultPort(c.TLS)
		}
	}
	return c, err
}

// Enabled implements providers.Settings: an SMTP server is configured.
func (c Config) Enabled() bool { return c.Host != "" }

// DefaultChannels implements providers.Settings: email.
func (c Config) DefaultChannels() []contract.Channel {
	if !c.Enabled() {
		return nil
	}
	return []contract.Channel{contract.ChannelEmail}
}

// Sender implements providers.Settings.
func (c Config) Sender(providers.Env) (providers.Provider, error) {
	p, err := New(c)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Webhook implements providers.Settings: SMTP reports nothing back.
func (c Config) Webhook(providers.Env) providers.Webhook { return nil }
