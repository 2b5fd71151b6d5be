package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/veriflow/veriflow/internal/apikey"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/store"
)

// Authenticate returns the tenant of a presented API key. An unparsable,
// unknown, revoked or mismatched key (wrong secret, or a mode other than
// the stored one) is Unauthorized, all alike; the secret is compared in
// constant time (apikey.Matches). A key's last use is recorded to the
// minute, so most requests write nothing. With Deps.Keys the key is read
// from the replica's cache (internal/keycache) when it holds it, so most
// requests read nothing either; a revocation reaches the cache through
// its notification.
func (s *Service) Authenticate(ctx context.Context, presented string) (Tenant, error) {
	unauthorized := &Error{Kind: Unauthorized, Detail: "A valid API key is required: Authorization: Bearer <key>."}
	k, err := apikey.Parse(presented)
	if err != nil {
		return Tenant{}, unauthorized
	}
	stored, ok := s.d.Keys.Get(k.ID)
	if !ok {
		gen := s.d.Keys.Generation()
		stored, err = s.d.Store.APIKeyByID(ctx, k.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return Tenant{}, unauthorized // not cached: a key created next works at once
		case err != nil:
			return Tenant{}, unavailable("api key lookup", err)
		}
		s.d.Keys.Put(gen, stored)
	}
	if !apikey.Matches(k.Secret, stored.SecretHash) || stored.RevokedAt != nil || stored.Mode != k.Mode {
		return Tenant{}, unauthorized
	}
	if stored.LastUsedAt == nil || time.Since(*stored.LastUsedAt) > time.Minute {
		if err := s.d.Store.TouchAPIKey(ctx, k.ID); err != nil {
			s.d.Log.WarnContext(ctx, "touch api key", "error", err)
		} else {
			s.d.Keys.Touched(k.ID, time.Now())
		}
	}
	return Tenant{ID: stored.TenantID, Mode: stored.Mode, KeyID: stored.ID}, nil
}

// CreateKey creates a tenant's API key, and the tenant if it does not
// exist, and returns the key: the only time its secret is at hand (the
// store keeps its hash). With fixed (a full key string) that key is stored
// instead of a random one of mode (the dev stack's stable key); storing
// the same fixed key again is fine.
func (s *Service) CreateKey(ctx context.Context, tenant string, mode contract.Mode, fixed string) (apikey.Key, error) {
	if tenant == "" {
		return apikey.Key{}, invalid("tenant", "is required")
	}
	k := apikey.Generate(mode)
	if fixed != "" {
		var err error
		if k, err = apikey.Parse(fixed); err != nil {
			return k, &Error{Kind: Invalid, Field: "key", Detail: "expected vf_test_<12 alphanumerics>_<secret>", Err: err}
		}
	} else if !mode.Valid() {
		return apikey.Key{}, invalid("mode", "must be test or live")
	}
	if err := s.d.Store.EnsureTenant(ctx, tenant, tenant); err != nil {
		return k, unavailable("ensure tenant", err)
	}
	if err := s.d.Store.CreateAPIKey(ctx, store.APIKey{ID: k.ID, TenantID: tenant, Mode: k.Mode, SecretHash: apikey.Hash(k.Secret)}); err != nil {
		return k, unavailable("create api key", err)
	}
	return k, nil
}

// RevokeKey revokes an API key by its id (a full key names its id too);
// requests with it are Unauthorized from then on. NotFound for an unknown
// key.
func (s *Service) RevokeKey(ctx context.Context, idOrKey string) (id string, err error) {
	id = idOrKey
	if k, err := apikey.Parse(idOrKey); err == nil {
		id = k.ID
	}
	switch err := s.d.Store.RevokeAPIKey(ctx, id); {
	case errors.Is(err, store.ErrNotFound):
		return id, &Error{Kind: NotFound, Detail: fmt.Sprintf("no API key %s", id), Err: err}
	case err != nil:
		return id, unavailable("revoke api key", err)
	}
	// This replica refuses the key at once; the others on the
	// revocation's notification.
	if s.d.Keys != nil {
		s.d.Keys.Invalidate(id)
	}
	return id, nil
}
