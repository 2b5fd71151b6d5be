package providers

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/veriflow/veriflow/internal/contract"
)

// Plugin registers one delivery provider with Veriflow. Each provider's
// folder offers one (twilio.Plugin, meta.Plugin, email.Plugin), and the
// registry package lists them: adding a provider is its folder plus one
// line there.
type Plugin struct {
	// Name is the provider's name in channel routing
	// (VERIFLOW_CHANNEL_<CHANNEL>, a tenant's "channels" in the config file).
	Name string
	// Channels are the channels the provider can send.
	Channels []contract.Channel
	// Load reads the provider's settings; get looks a variable up (the
	// environment over the config file's "env"). A provider that is not
	// configured loads too: it is not Enabled, and its webhook answers 404.
	Load func(get func(string) string) (Settings, error)
}

// Settings is one provider's configuration, as its Plugin loaded it.
type Settings interface {
	// Enabled reports whether the provider can send (its credentials are
	// set).
	Enabled() bool
	// DefaultChannels are the channels routed to the provider unless the
	// configuration routes them elsewhere; of two providers claiming one,
	// the first in the registry gets it.
	DefaultChannels() []contract.Channel
	// Sender builds the provider's sender; it is called when Enabled.
	Sender(env Env) (Provider, error)
	// Webhook builds the provider's webhook, nil when it has none. It is
	// built whether or not the provider is configured: an unconfigured one
	// answers 404.
	Webhook(env Env) Webhook
}

// Env is what a provider is built with.
type Env struct {
	// PublicBaseURL is where providers reach Veriflow's webhooks
	// ("" when not configured: providers then send no callbacks).
	PublicBaseURL string
	// HTTPClient carries the provider's API calls; nil uses the adapter's
	// default (tests point it at mocks).
	HTTPClient *http.Client
	// Log receives operator alerts and webhook logs.
	Log *slog.Logger
	// Receipts takes the receipts a webhook parses.
	Receipts Ingester
}

// CallbackURL joins the public base URL and a webhook path ("" when no
// public base URL is configured).
func (e Env) CallbackURL(path string) string {
	if e.PublicBaseURL == "" {
		return ""
	}
	return e.PublicBaseURL + path
}

// Ingester takes normalized receipts (the receipts service): it stores each
// one before signalling its verification.
type Ingester interface {
	Ingest(ctx context.Context, r contract.Receipt) error
}

// Route is one HTTP route of a provider's webhook.
type Route struct {
	Method, Path string
	Handler      http.Handler
}

// Webhook is a provider's HTTP endpoint for delivery receipts (and, for
// WhatsApp, Meta's subscription challenge). The API mounts its routes.
type Webhook interface {
	Routes() []Route
}
