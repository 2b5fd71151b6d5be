// Package branding resolves what a tenant's messages say and carry: its
// display name ("… is your Acme code") and its SMS autofill settings. Each
// setting comes from the first place that has it: the tenant's row in
// Postgres (set with `veriflow tenant set-name` and `set-autofill`), then
// the tenant's entry in the config file, then — for the name only — the
// deployment's default (VERIFLOW_BRAND). Lookups are cached for TTL, so a
// change shows up in the messages within that time.
package branding

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/veriflow/veriflow/internal/messages"
	"github.com/veriflow/veriflow/internal/store"
)

// TTL is how long a lookup is cached: a rename reaches the messages
// within it.
const TTL = 30 * time.Second

// maxCached bounds the cache; past it, the cache starts over.
const maxCached = 10_000

// Brand is what a tenant's messages use.
type Brand struct {
	// Name is the display name (never empty).
	Name string
	// Autofill is the SMS autofill settings (each may be empty).
	Autofill messages.Autofill
}

// Store reads a tenant's branding from Postgres.
type Store interface {
	TenantBranding(ctx context.Context, tenantID string) (store.Branding, error)
}

// Defaults are the settings below Postgres: the config file's per-tenant
// entries and the deployment's default name.
type Defaults struct {
	// Name is the deployment's default display name; empty means
	// messages.DefaultBrand.
	Name string
	// Tenants are the config file's entries, validated.
	Tenants map[string]store.Branding
}

// Resolver looks tenants' brands up. It is safe for concurrent use.
type Resolver struct {
	store    Store
	defaults Defaults
	now      func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	brand   Brand
	expires time.Time
}

// New returns a Resolver over s (nil: the defaults only).
func New(s Store, d Defaults) *Resolver {
	if d.Name == "" {
		d.Name = messages.DefaultBrand
	}
	return &Resolver{store: s, defaults: d, now: time.Now, cache: map[string]cached{}}
}

// Lookup returns the tenant's brand. An unknown tenant gets the defaults;
// a store failure is returned (the caller retries) unless an expired entry
// is at hand, which is then used again for one more TTL.
func (r *Resolver) Lookup(ctx context.Context, tenantID string) (Brand, error) {
	now := r.now()
	r.mu.Lock()
	c, ok := r.cache[tenantID]
	r.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.brand, nil
	}
	var row store.Branding
	if r.store != nil {
		var err error
		row, err = r.store.TenantBranding(ctx, tenantID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			row = store.Branding{}
		case err != nil && ok:
			c.expires = now.Add(TTL)
			r.put(tenantID, c)
			return c.brand, nil
		case err != nil:
			return Brand{}, fmt.Errorf("branding of %s: %w", tenantID, err)
		}
	}
	b := r.merge(tenantID, row)
	r.put(tenantID, cached{brand: b, expires: now.Add(TTL)})
	return b, nil
}

// merge layers the stored row over the config file's entry and the
// default name.
func (r *Resolver) merge(tenantID string, row store.Branding) Brand {
	file := r.defaults.Tenants[tenantID]
	first := func(vs ...string) string {
		for _, v := range vs {
			if v != "" {
				return v
			}
		}
		return ""
	}
	return Brand{
		Name:     first(row.Name, file.Name, r.defaults.Name),
		Autofill: messages.Autofill{Origin: first(row.Origin, file.Origin), AppHash: first(row.AppHash, file.AppHash)},
	}
}

func (r *Resolver) put(tenantID string, c cached) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= maxCached {
		clear(r.cache)
	}
	r.cache[tenantID] = c
}
