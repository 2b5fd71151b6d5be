package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/providers/registry"
)

// Providers is the delivery configuration of a deployment: the settings of
// each registered provider (each provider's plug-in reads its own
// variables, see registry.Plugins) and which provider serves each channel.
type Providers struct {
	// PublicBaseURL is where providers reach Veriflow's webhooks
	// (VERIFLOW_PUBLIC_BASE_URL), e.g. https://verify.example.com.
	PublicBaseURL string
	// Settings holds each registered provider's settings by provider name;
	// a provider that is not configured has settings that are not Enabled.
	Settings map[string]providers.Settings
	// Channels maps each channel to the provider serving it
	// (VERIFLOW_CHANNEL_WHATSAPP, VERIFLOW_CHANNEL_SMS, VERIFLOW_CHANNEL_EMAIL);
	// unset channels go to the first provider claiming them by default.
	Channels map[string]string
	// Tenants overrides Channels per tenant (config file only).
	Tenants map[string]map[string]string
	// Failover is the provider circuit breaker, call timeout and rate caps.
	Failover Failover
}

func providersFromEnv(get func(string) string, tenants map[string]map[string]string) (Providers, error) {
	plugins := registry.Plugins()
	p := Providers{
		PublicBaseURL: strings.TrimRight(get("VERIFLOW_PUBLIC_BASE_URL"), "/"),
		Settings:      map[string]providers.Settings{},
		Channels:      map[string]string{},
		Tenants:       tenants,
	}
	var errs []error
	for _, pl := range plugins {
		s, err := pl.Load(get)
		if err != nil {
			errs = append(errs, err)
		}
		if s == nil {
			continue
		}
		p.Settings[pl.Name] = s
		// Default routing: the first configured provider claiming a channel.
		for _, ch := range s.DefaultChannels() {
			if _, taken := p.Channels[string(ch)]; !taken {
				p.Channels[string(ch)] = pl.Name
			}
		}
	}
	for _, ch := range channels(plugins) {
		if v := get("VERIFLOW_CHANNEL_" + strings.ToUpper(string(ch))); v != "" {
			p.Channels[string(ch)] = v
		}
	}
	errs = append(errs, p.validateRouting(plugins)...)
	var err error
	if p.Failover, err = failoverFromEnv(get, plugins); err != nil {
		errs = append(errs, err)
	}
	return p, errors.Join(errs...)
}

// channels lists the channels the plug-ins can serve, each once.
func channels(plugins []providers.Plugin) []contract.Channel {
	var out []contract.Channel
	for _, pl := range plugins {
		for _, ch := range pl.Channels {
			if !slices.Contains(out, ch) {
				out = append(out, ch)
			}
		}
	}
	return out
}

func (p Providers) validateRouting(plugins []providers.Plugin) []error {
	names := make([]string, 0, len(plugins))
	for _, pl := range plugins {
		names = append(names, pl.Name)
	}
	var errs []error
	check := func(where, ch, prov string) {
		i := slices.IndexFunc(plugins, func(pl providers.Plugin) bool { return pl.Name == prov })
		switch {
		case i < 0:
			errs = append(errs, fmt.Errorf("%s: unknown provider %q for %s (%s)", where, prov, ch, strings.Join(names, ", ")))
		case !slices.Contains(plugins[i].Channels, contract.Channel(ch)):
			errs = append(errs, fmt.Errorf("%s: provider %s cannot send %s", where, prov, ch))
		}
	}
	// A route is one provider or an ordered, comma-separated list of them.
	checkRoute := func(where, ch, route string) {
		names := providers.RouteNames(route)
		if len(names) == 0 {
			errs = append(errs, fmt.Errorf("%s: empty route for %s", where, ch))
		}
		for i, prov := range names {
			if slices.Contains(names[:i], prov) {
				errs = append(errs, fmt.Errorf("%s: provider %s listed twice for %s", where, prov, ch))
				continue
			}
			check(where, ch, prov)
		}
	}
	for ch, route := range p.Channels {
		checkRoute("channel routing", ch, route)
	}
	for tenant, routes := range p.Tenants {
		for ch, route := range routes {
			checkRoute("tenant "+tenant, ch, route)
		}
	}
	return errs
}
