package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/veriflow/veriflow/internal/apikey"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/events"
	"github.com/veriflow/veriflow/internal/evidence"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/verify"
)

// verifyEvidence checks the evidence in file against the public keys in
// keys and prints what it proves.
func verifyEvidence(file, keys string, out io.Writer) error {
	r, err := evidence.VerifyFile(file, keys)
	if err != nil {
		return fmt.Errorf("evidence NOT valid: %w", err)
	}
	fmt.Fprintf(out, "evidence valid\n  verification %s (tenant %s, %s)\n  document     %q sha256 %s\n  signer       %s %s via %s\n  approved at  %s\n",
		r.VerificationID, r.TenantID, r.Kind, r.Document.Title, r.Document.SHA256,
		r.Destination.Type, r.Destination.Masked, r.Channel, r.ApprovedAt.Format(time.RFC3339))
	return nil
}

func withStore(ctx context.Context, cfg config.Config, f func(*store.Store) error) error {
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is required")
	}
	s, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer s.Close()
	return f(s)
}

// createKey stores a key for tenant: fixed (a full key string, from
// VERIFLOW_DEV_API_KEY) or random of mode.
func createKey(ctx context.Context, s *store.Store, tenant string, mode contract.Mode, fixed string) (apikey.Key, error) {
	k, err := verify.New(verify.Deps{Store: s}).CreateKey(ctx, tenant, mode, fixed)
	if err != nil && fixed != "" && verify.KindOf(err) == verify.Invalid {
		return k, fmt.Errorf("VERIFLOW_DEV_API_KEY: %w", err)
	}
	return k, err
}

// revokeKey revokes the key named by id (a key id or a full key).
func revokeKey(ctx context.Context, cfg config.Config, id string, out io.Writer) error {
	return withStore(ctx, cfg, func(s *store.Store) error {
		id, err := verify.New(verify.Deps{Store: s}).RevokeKey(ctx, id)
		if err != nil {
			return fmt.Errorf("revoke %s: %w", id, err)
		}
		fmt.Fprintf(out, "revoked %s\n", id)
		return nil
	})
}

// setCallback registers u as tenant's callback URL with a new signing
// secret, which it prints once.
func setCallback(ctx context.Context, cfg config.Config, tenant, u string, out io.Writer) error {
	if err := events.ValidateURL(u); err != nil {
		return fmt.Errorf("--url %w", err) // before needing a database
	}
	secrets, err := otp.New(cfg.CodeSecret)
	if err != nil {
		return err
	}
	return withStore(ctx, cfg, func(s *store.Store) error {
		secret, err := verify.New(verify.Deps{Store: s, Secrets: secrets}).SetCallback(ctx, tenant, u)
		if err != nil {
			return fmt.Errorf("set callback of %s: %w", tenant, err)
		}
		fmt.Fprintf(out, "tenant:   %s\ncallback: %s\nsecret:   %s\n(the secret is shown once; verify Veriflow-Signature with it)\n", tenant, u, secret)
		return nil
	})
}
