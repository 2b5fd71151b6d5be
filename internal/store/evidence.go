package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Evidence is a signed evidence record as stored.
type Evidence struct {
	KeyID    string
	Document []byte // the signed JSON, byte for byte
}

// GetEvidence returns a tenant's evidence of a verification.
func (s *Store) GetEvidence(ctx context.Context, tenantID, verificationID string) (Evidence, error) {
	var e Evidence
	err := s.pool.QueryRow(ctx, `select key_id, document from evidence where tenant_id = $1 and verification_id = $2`,
		tenantID, verificationID).Scan(&e.KeyID, &e.Document)
	if errors.Is(err, pgx.ErrNoRows) {
		return Evidence{}, ErrNotFound
	}
	if err != nil {
		return Evidence{}, fmt.Errorf("store: evidence: %w", err)
	}
	return e, nil
}
