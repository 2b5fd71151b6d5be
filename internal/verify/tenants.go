package verify

import (
	"context"
	"errors"
	"fmt"

	"github.com/veriflow/veriflow/internal/messages"
	"github.com/veriflow/veriflow/internal/store"
)

// SetTenantName sets the display name a tenant's messages say ("… is your
// Acme code") and returns it normalized; "" unsets it (the config file's
// name, then VERIFLOW_BRAND, apply). A name with control characters, over
// messages.MaxBrand characters or that looks like a link is Invalid (field
// "name"); an unknown tenant is NotFound.
func (s *Service) SetTenantName(ctx context.Context, tenantID, name string) (string, error) {
	name, err := messages.NormalizeBrand(name)
	if err != nil {
		return "", &Error{Kind: Invalid, Field: "name", Detail: err.Error(), Err: err}
	}
	return name, tenantWrite(tenantID, "set tenant name", s.d.Store.SetTenantName(ctx, tenantID, name))
}

// SetTenantAutofill sets the SMS autofill settings that are not nil and
// returns the settings it stored, normalized; "" unsets one. A bad origin
// (not a bare host) or app hash (not 11 characters of [A-Za-z0-9+/]) is
// Invalid (field "origin" or "app_hash"); an unknown tenant is NotFound.
func (s *Service) SetTenantAutofill(ctx context.Context, tenantID string, origin, appHash *string) (messages.Autofill, error) {
	var out messages.Autofill
	if origin != nil {
		o, err := messages.NormalizeOrigin(*origin)
		if err != nil {
			return out, &Error{Kind: Invalid, Field: "origin", Detail: err.Error(), Err: err}
		}
		out.Origin, origin = o, &o
	}
	if appHash != nil {
		h, err := messages.NormalizeAppHash(*appHash)
		if err != nil {
			return out, &Error{Kind: Invalid, Field: "app_hash", Detail: err.Error(), Err: err}
		}
		out.AppHash, appHash = h, &h
	}
	if origin == nil && appHash == nil {
		return out, invalid("origin", "set an origin, an app hash or both")
	}
	return out, tenantWrite(tenantID, "set tenant autofill", s.d.Store.SetTenantAutofill(ctx, tenantID, origin, appHash))
}

// TenantBranding returns what a tenant set in Postgres (not the config
// file's or the default values); NotFound for an unknown tenant.
func (s *Service) TenantBranding(ctx context.Context, tenantID string) (store.Branding, error) {
	b, err := s.d.Store.TenantBranding(ctx, tenantID)
	return b, tenantWrite(tenantID, "tenant branding", err)
}

// tenantWrite maps a store error of a tenant's row.
func tenantWrite(tenantID, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return &Error{Kind: NotFound, Detail: fmt.Sprintf("no tenant %s (apikey create makes one)", tenantID), Err: err}
	default:
		return unavailable(op, err)
	}
}
