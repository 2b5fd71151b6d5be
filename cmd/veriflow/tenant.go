package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/veriflow/veriflow/internal/app"
	"github.com/veriflow/veriflow/internal/branding"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/messages"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/verify"
)

// given returns the names of the flags set on the command line.
func given(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// setTenantName stores tenant's display name ("" unsets it) and prints
// what its messages will say.
func setTenantName(ctx context.Context, cfg config.Config, tenant, name string, out io.Writer) error {
	if _, err := messages.NormalizeBrand(name); err != nil {
		return fmt.Errorf("--name: %w", err) // before needing a database
	}
	return withStore(ctx, cfg, func(s *store.Store) error {
		if _, err := verify.New(verify.Deps{Store: s}).SetTenantName(ctx, tenant, name); err != nil {
			return fmt.Errorf("set name of %s: %w", tenant, err)
		}
		return showTenant(ctx, s, cfg, tenant, out)
	})
}

// setTenantAutofill stores the autofill settings given (nil: unchanged,
// "": unset) and prints the tenant's branding.
func setTenantAutofill(ctx context.Context, cfg config.Config, tenant string, origin, appHash *string, out io.Writer) error {
	if origin != nil {
		if _, err := messages.NormalizeOrigin(*origin); err != nil {
			return fmt.Errorf("--origin: %w", err)
		}
	}
	if appHash != nil {
		if _, err := messages.NormalizeAppHash(*appHash); err != nil {
			return fmt.Errorf("--app-hash: %w", err)
		}
	}
	return withStore(ctx, cfg, func(s *store.Store) error {
		if _, err := verify.New(verify.Deps{Store: s}).SetTenantAutofill(ctx, tenant, origin, appHash); err != nil {
			return fmt.Errorf("set autofill of %s: %w", tenant, err)
		}
		return showTenant(ctx, s, cfg, tenant, out)
	})
}

// showTenant prints the branding tenant's messages use, each value with
// where it comes from, and a sample SMS.
func showTenant(ctx context.Context, s *store.Store, cfg config.Config, tenant string, out io.Writer) error {
	stored, err := verify.New(verify.Deps{Store: s}).TenantBranding(ctx, tenant)
	if err != nil {
		return err
	}
	file := cfg.Branding.Tenants[tenant]
	source := func(db, fromFile string) string {
		switch {
		case db != "":
			return "(veriflow tenant)"
		case fromFile != "":
			return "(config file)"
		}
		return ""
	}
	// The same resolution as the worker's, without its cache.
	b, err := branding.New(staticStore(stored), app.BrandDefaults(cfg.Branding)).Lookup(ctx, tenant)
	if err != nil {
		return err
	}
	nameSource := source(stored.Name, file.Name)
	if nameSource == "" {
		nameSource = "(VERIFLOW_BRAND or the default)"
	}
	orNone := func(v string) string {
		if v == "" {
			return "-"
		}
		return v
	}
	sample := messages.Render(messages.Input{Kind: contract.KindTwoFactor, Locale: "en", Code: "123456", TTL: 5 * time.Minute,
		Channel: contract.ChannelSMS, Brand: b.Name, Autofill: b.Autofill})
	fmt.Fprintf(out, "tenant:   %s\nname:     %s %s\norigin:   %s %s\napp hash: %s %s\nsample SMS (changes reach messages within %v):\n%s\n",
		tenant, b.Name, nameSource, orNone(b.Autofill.Origin), source(stored.Origin, file.Origin),
		orNone(b.Autofill.AppHash), source(stored.AppHash, file.AppHash), branding.TTL, sample.Text)
	return nil
}

// staticStore serves one stored row to a branding.Resolver.
type staticStore store.Branding

func (s staticStore) TenantBranding(context.Context, string) (store.Branding, error) {
	return store.Branding(s), nil
}
