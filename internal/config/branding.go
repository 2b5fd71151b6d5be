package config

import (
	"errors"
	"fmt"

	"github.com/veriflow/veriflow/internal/messages"
)

// Branding is what the messages say and carry for each tenant. A tenant's
// settings stored in Postgres (veriflow tenant set-name, set-autofill) win;
// Tenants (the config file) fill in what Postgres does not set; Default
// names the tenants that have no name in either.
type Branding struct {
	// Default is the display name of tenants without one (VERIFLOW_BRAND,
	// default "Veriflow").
	Default string
	// Tenants are the config file's per-tenant settings.
	Tenants map[string]TenantBranding
}

// TenantBranding is one tenant's entry: its display name and SMS autofill
// settings, each optional.
type TenantBranding struct {
	// Name is the display name ("display_name"): "… is your Acme code".
	Name string
	// Origin is the web host of the SMS origin-bound line ("web_origin").
	Origin string
	// AppHash is the Android SMS Retriever app hash ("android_app_hash").
	AppHash string
}

// branding validates and normalizes VERIFLOW_BRAND and the tenants'
// entries of the config file.
func (f file) branding(get func(k, def string) string) (Branding, error) {
	var errs []error
	def, err := messages.NormalizeBrand(get("VERIFLOW_BRAND", messages.DefaultBrand))
	if err != nil {
		errs = append(errs, fmt.Errorf("VERIFLOW_BRAND: %w", err))
	}
	b := Branding{Default: def, Tenants: map[string]TenantBranding{}}
	for t, tf := range f.Tenants {
		var tb TenantBranding
		var e1, e2, e3 error
		tb.Name, e1 = messages.NormalizeBrand(tf.DisplayName)
		tb.Origin, e2 = messages.NormalizeOrigin(tf.WebOrigin)
		tb.AppHash, e3 = messages.NormalizeAppHash(tf.AndroidAppHash)
		if err := errors.Join(e1, e2, e3); err != nil {
			errs = append(errs, fmt.Errorf("VERIFLOW_CONFIG_FILE tenants.%s: %w", t, err))
			continue
		}
		if tb != (TenantBranding{}) {
			b.Tenants[t] = tb
		}
	}
	return b, errors.Join(errs...)
}
