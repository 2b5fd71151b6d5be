package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Branding is what a tenant set for its messages in Postgres; an empty
// field is not set (the config file and the deployment default apply).
type Branding struct {
	// Name is the display name the messages say.
	Name string
	// Origin is the web host of the SMS origin-bound line.
	Origin string
	// AppHash is the Android SMS Retriever app hash.
	AppHash string
}

// TenantBranding reads a tenant's branding (one primary-key read);
// ErrNotFound for an unknown tenant.
func (s *Store) TenantBranding(ctx context.Context, tenantID string) (Branding, error) {
	var b Branding
	err := s.pool.QueryRow(ctx, `select coalesce(display_name, ''), coalesce(sms_origin, ''), coalesce(sms_app_hash, '')
		from tenants where id = $1`, tenantID).Scan(&b.Name, &b.Origin, &b.AppHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return Branding{}, ErrNotFound
	}
	if err != nil {
		return Branding{}, fmt.Errorf("store: tenant branding: %w", err)
	}
	return b, nil
}

// SetTenantName sets a tenant's display name; "" unsets it. ErrNotFound
// for an unknown tenant. The name must be validated already
// (messages.NormalizeBrand).
func (s *Store) SetTenantName(ctx context.Context, tenantID, name string) error {
	tag, err := s.pool.Exec(ctx, `update tenants set display_name = nullif($2, '') where id = $1`, tenantID, name)
	if err != nil {
		return fmt.Errorf("store: set tenant name: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// SetTenantAutofill sets the autofill fields that are not nil; "" unsets
// one. ErrNotFound for an unknown tenant. The values must be validated
// already (messages.NormalizeOrigin, messages.NormalizeAppHash).
func (s *Store) SetTenantAutofill(ctx context.Context, tenantID string, origin, appHash *string) error {
	tag, err := s.pool.Exec(ctx, `update tenants set
			sms_origin   = case when $2::text is null then sms_origin else nullif($2, '') end,
			sms_app_hash = case when $3::text is null then sms_app_hash else nullif($3, '') end
		where id = $1`, tenantID, origin, appHash)
	if err != nil {
		return fmt.Errorf("store: set tenant autofill: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
