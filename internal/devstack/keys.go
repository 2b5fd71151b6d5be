package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/veriflow/veriflow/internal/codec"
	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/evidence"
	"github.com/veriflow/veriflow/internal/verify"
)

// fillSecrets generates, dated now, whichever of cfg's code secret,
// payload key and evidence key is empty.
func fillSecrets(cfg *config.Config, now time.Time) error {
	if cfg.PayloadKeys == "" {
		kid, key, err := codec.GenerateKey(now)
		if err != nil {
			return fmt.Errorf("devstack: payload key: %w", err)
		}
		cfg.PayloadKeys = kid + ":" + key
	}
	if cfg.EvidenceKeys == "" {
		kid, seed, err := evidence.GenerateKey(now)
		if err != nil {
			return fmt.Errorf("devstack: evidence key: %w", err)
		}
		cfg.EvidenceKeys = kid + ":" + seed
	}
	if len(cfg.CodeSecret) == 0 {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // never fails (crypto/rand)
		cfg.CodeSecret = []byte(hex.EncodeToString(b))
	}
	return nil
}

// CreateKey stores a new API key of tenant in mode through the API-key use
// case (internal/verify, as `veriflow apikey create` does), creating the
// tenant (named after its id) if it does not exist, and returns the key as
// a caller sends it (vf_test_…, vf_live_…).
func (s *Stack) CreateKey(ctx context.Context, tenant string, mode contract.Mode) (string, error) {
	k, err := verify.New(verify.Deps{Store: s.App.Store}).CreateKey(ctx, tenant, mode, "")
	if err != nil {
		return "", fmt.Errorf("devstack: API key of %s: %w", tenant, err)
	}
	return k.String(), nil
}
