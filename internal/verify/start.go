package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/mask"
	"github.com/veriflow/veriflow/internal/policy"
	"github.com/veriflow/veriflow/internal/providers/sandbox"
	"github.com/veriflow/veriflow/internal/store"
)

// StartInput is a validated, normalized start request.
type StartInput struct {
	Kind contract.Kind
	// To holds the normalized destinations (E.164 phone, lower-case email).
	To          contract.Destinations
	Locale      string
	Transaction *contract.Transaction
	Document    *contract.Document
	ClientIP    string
	Metadata    map[string]string
	// Policy is the resolved policy: plan, code policy, supersede.
	Policy policy.Policy
	// IdempotencyKey, when set, makes a repeated start answer the first
	// one's verification. Request is the request's canonical form: a key
	// reused with a request of another form is an IdempotencyConflict.
	IdempotencyKey string
	Request        any
}

// Started is the answer to a start: the verification, and whether it is
// an earlier start's answered again for its Idempotency-Key.
type Started struct {
	Verification store.Verification
	Replay       bool
}

// Start starts a verification. The Idempotency-Key is looked up once: a
// key already used answers its verification (restarting its workflow if
// the first start died before starting it) without spending rate limits.
// Otherwise the guard decides, the row is inserted (a concurrent start
// with the same key that wins the race makes this one a replay or a
// conflict there), the workflow is started, and the row is deleted again
// when the workflow cannot be started, so that a retry starts afresh.
// Before all that, admission (admit) may refuse the tenant: RateLimited,
// Retry-After 1 s.
func (s *Service) Start(ctx context.Context, t Tenant, in StartInput) (Started, error) {
	release, err := s.admit(ctx, t)
	if err != nil {
		return Started{}, err
	}
	defer release()
	var reqHash []byte
	if in.IdempotencyKey != "" {
		canonical, err := json.Marshal(in.Request)
		if err != nil {
			return Started{}, unavailable("hash request", err)
		}
		sum := sha256.Sum256(canonical)
		reqHash = sum[:]
		id, hash, err := s.d.Store.IdempotencyKey(ctx, t.ID, in.IdempotencyKey)
		switch {
		case err == nil && !bytes.Equal(hash, reqHash):
			return Started{}, idempotencyConflict()
		case err == nil:
			return s.replay(ctx, t, id, in)
		case !errors.Is(err, store.ErrNotFound):
			return Started{}, unavailable("idempotency lookup", err)
		}
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	row := store.Verification{
		ID: "vf_" + ulid.Make().String(), TenantID: t.ID, Mode: t.Mode, Kind: in.Kind, Status: contract.StatusPending,
		ToPhone: mask.Phone(in.To.Phone), ToEmail: mask.Email(in.To.Email), ChecksLeft: in.Policy.Code.MaxChecks,
		ToPhoneHash: s.destHash(in.To.Phone), ToEmailHash: s.destHash(in.To.Email), Country: phoneCountry(in.To.Phone),
		Attempts: []contract.Attempt{}, Metadata: in.Metadata, CreatedAt: now, ExpiresAt: now.Add(in.Policy.Code.TTL),
	}
	if err := s.allowStart(ctx, t, in, row); err != nil {
		return Started{}, err
	}
	if err := s.assess(ctx, t, &in, &row); err != nil {
		return Started{}, err
	}
	id, replay, err := s.d.Store.InsertVerification(ctx, store.StartRequest{Verification: row, IdempotencyKey: in.IdempotencyKey, RequestHash: reqHash})
	switch {
	case errors.Is(err, store.ErrIdempotencyConflict):
		return Started{}, idempotencyConflict()
	case err != nil:
		return Started{}, unavailable("insert verification", err)
	case replay:
		return s.replay(ctx, t, id, in)
	}
	if err := s.startWorkflow(ctx, row, in); err != nil && !s.startedAnyway(ctx, t, row, err) {
		return Started{}, unavailable("start workflow", err)
	}
	s.auditRisk(ctx, row)
	s.d.Log.InfoContext(ctx, "verification started", "verification_id", row.ID, "tenant_id", t.ID, "kind", in.Kind,
		"to_phone", row.ToPhone, "to_email", row.ToEmail, "mode", t.Mode, "supersede", in.Policy.Supersede)
	return Started{Verification: row}, nil
}

func idempotencyConflict() *Error {
	return &Error{Kind: IdempotencyConflict, Detail: "This Idempotency-Key was used with a different request."}
}

// replay answers an earlier start's verification id again. The earlier
// start may have died between storing and starting: starting again is
// idempotent (same workflow id).
func (s *Service) replay(ctx context.Context, t Tenant, id string, in StartInput) (Started, error) {
	row, err := s.d.Store.GetVerification(ctx, t.ID, id)
	if err != nil {
		return Started{}, unavailable("load replayed verification", err)
	}
	if row.Version == 0 {
		if err := s.startWorkflow(ctx, row, in); err != nil {
			return Started{}, unavailable("restart workflow", err)
		}
	}
	return Started{Verification: row, Replay: true}, nil
}

// allowStart applies the rate limits and fraud guards to a new start,
// auditing a refusal.
func (s *Service) allowStart(ctx context.Context, t Tenant, in StartInput, row store.Verification) error {
	if s.d.Guard == nil {
		return nil
	}
	ref, err := s.d.Guard.AllowStart(ctx, guard.StartInfo{
		Tenant: t.ID, Phone: in.To.Phone, PhoneHash: hexOrEmpty(row.ToPhoneHash), EmailHash: hexOrEmpty(row.ToEmailHash),
		ClientIP: in.ClientIP, Sandbox: t.Mode == contract.ModeTest,
		TrustedPhone: t.Mode == contract.ModeTest && sandbox.Scripted(in.To.Phone),
	})
	if err != nil {
		return unavailable("rate limits", err)
	}
	if ref == nil {
		return nil
	}
	e := contract.Event{Type: contract.EventStartRefused, Detail: ref.Code, At: time.Now().UTC()}
	if err := s.d.Store.AppendEvent(ctx, "", t.ID, e); err != nil {
		s.d.Log.WarnContext(ctx, "audit refused start", "error", err)
	}
	s.d.Log.WarnContext(ctx, "start refused", "tenant_id", t.ID, "code", ref.Code, "to_phone", row.ToPhone, "to_email", row.ToEmail)
	return RefusalError(ref)
}

// RefusalError turns a guard refusal into an *Error: RateLimited when it has a
// RetryAfter (rate limits, the velocity guard), Refused otherwise.
func RefusalError(ref *guard.Refusal) *Error {
	kind := Refused
	if ref.RetryAfter > 0 {
		kind = RateLimited
	}
	return &Error{Kind: kind, Code: ref.Code, Detail: ref.Detail, Field: ref.Field, RetryAfter: ref.RetryAfter}
}

func hexOrEmpty(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return hex.EncodeToString(b)
}

// destHash is the keyed hash of a destination, nil for none.
func (s *Service) destHash(d string) []byte {
	if d == "" {
		return nil
	}
	return s.d.Secrets.HashDestination(d)
}

// destinationHashes are the keyed hashes of a verification's destinations.
func destinationHashes(v store.Verification) []string {
	var out []string
	for _, h := range [][]byte{v.ToPhoneHash, v.ToEmailHash} {
		if len(h) > 0 {
			out = append(out, hex.EncodeToString(h))
		}
	}
	return out
}
