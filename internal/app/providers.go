package app

import (
	"context"
	"fmt"
	"time"

	"github.com/veriflow/veriflow/activities"
	"github.com/veriflow/veriflow/api"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/providers/registry"
	"github.com/veriflow/veriflow/internal/providers/sandbox"
	"github.com/veriflow/veriflow/internal/store"
)

// Router builds the live providers the configuration enables (each
// registered plug-in whose settings are Enabled) and routes channels to
// them; test mode goes to sb.
func (a *App) Router(sb providers.Provider) (providers.Router, error) {
	pc := a.Config.Providers
	r := providers.Router{Sandbox: sb, Providers: map[string]providers.Provider{},
		Channels: map[contract.Channel]string{}, Tenants: map[string]map[contract.Channel]string{}}
	env := a.providerEnv(nil)
	for _, pl := range registry.Plugins() {
		s := settingsOf(pc, pl)
		if s == nil || !s.Enabled() {
			continue
		}
		p, err := s.Sender(env)
		if err != nil {
			return r, fmt.Errorf("%s: %w", pl.Name, err)
		}
		r.Providers[pl.Name] = p
	}
	for ch, name := range pc.Channels {
		r.Channels[contract.Channel(ch)] = name
	}
	for tenant, routes := range pc.Tenants {
		r.Tenants[tenant] = map[contract.Channel]string{}
		for ch, name := range routes {
			r.Tenants[tenant][contract.Channel(ch)] = name
		}
	}
	return r, nil
}

// Failover is SendCode's provider failover: the circuit breakers and rate
// caps in Postgres, as configured (config.Failover).
func (a *App) Failover() *activities.Failover {
	f := a.Config.Providers.Failover
	if f.BreakerFailures == 0 {
		// A configuration built by hand (tests): the defaults.
		f = config.DefaultFailover()
	}
	return &activities.Failover{
		Circuits: a.Store, Limiter: a.Store, Rates: f.Rates, CallTimeout: f.CallTimeout,
		Policy: store.CircuitPolicy{Failures: f.BreakerFailures, Window: f.BreakerWindow, Cooldown: f.BreakerCooldown,
			Probe: f.CallTimeout + time.Second},
	}
}

// webhooks builds every registered provider's webhook, configured or not
// (an unconfigured one answers 404), handing receipts to inbox.
func (a *App) webhooks(inbox providers.Ingester) api.Webhooks {
	env := a.providerEnv(inbox)
	var out api.Webhooks
	for _, pl := range registry.Plugins() {
		if s := settingsOf(a.Config.Providers, pl); s != nil {
			if w := s.Webhook(env); w != nil {
				out = append(out, w)
			}
		}
	}
	return out
}

// providerEnv is what the providers are built with.
func (a *App) providerEnv(inbox providers.Ingester) providers.Env {
	return providers.Env{PublicBaseURL: a.Config.Providers.PublicBaseURL, HTTPClient: a.ProviderHTTPClient,
		Log: a.Log, Receipts: inbox}
}

// settingsOf returns pl's settings in pc; a configuration built without
// them (by hand, in tests) gets the settings of an unconfigured provider.
func settingsOf(pc config.Providers, pl providers.Plugin) providers.Settings {
	if s := pc.Settings[pl.Name]; s != nil {
		return s
	}
	s, err := pl.Load(func(string) string { return "" })
	if err != nil {
		return nil
	}
	return s
}

// sandboxStore keeps the sandbox's messages in the store.
type sandboxStore struct{ st *store.Store }

// SaveMessage implements sandbox.Store.
func (s sandboxStore) SaveMessage(ctx context.Context, m sandbox.Message) (string, error) {
	id, _, err := s.st.InsertSandboxMessage(ctx, store.SandboxMessage{
		ID: m.ID, TenantID: m.TenantID, VerificationID: m.VerificationID, IdempotencyKey: m.IdempotencyKey,
		Channel: m.Channel, ToHash: m.ToHash, ToMasked: m.ToMasked, SealedBody: m.SealedBody,
	})
	if err != nil {
		return "", fmt.Errorf("sandbox message: %w", err)
	}
	return id, nil
}
