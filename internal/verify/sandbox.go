package verify

import (
	"context"
	"encoding/json"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers/sandbox"
	"github.com/veriflow/veriflow/internal/store"
)

// SandboxMessage is a message the sandbox provider "sent", opened: the
// only place a code is ever shown.
type SandboxMessage struct {
	ID             string
	VerificationID string
	Channel        contract.Channel
	// To is the masked destination.
	To        string
	Body      string
	Code      string
	CreatedAt time.Time
}

// AllowSandbox refuses sandbox reads to a live key (Forbidden).
func AllowSandbox(t Tenant) error {
	if t.Mode != contract.ModeTest {
		return &Error{Kind: Forbidden, Detail: "Sandbox messages are readable with test-mode keys only."}
	}
	return nil
}

// SandboxMessages returns a test tenant's newest sandbox messages, at most
// limit, optionally only those to one normalized destination. A message
// whose seal no longer opens (the code secret rotated) is left out.
func (s *Service) SandboxMessages(ctx context.Context, t Tenant, to string, limit int) ([]SandboxMessage, error) {
	if err := AllowSandbox(t); err != nil {
		return nil, err
	}
	msgs, err := s.d.Store.SandboxMessages(ctx, t.ID, s.destHash(to), limit)
	if err != nil {
		return nil, unavailable("sandbox messages", err)
	}
	out := make([]SandboxMessage, 0, len(msgs))
	for _, m := range msgs {
		plain, err := s.d.Secrets.Open(m.SealedBody, m.ID)
		if err != nil {
			s.d.Log.WarnContext(ctx, "sandbox message cannot be opened (secret rotated?)", "id", m.ID)
			continue
		}
		var b sandbox.Body
		if err := json.Unmarshal(plain, &b); err != nil {
			continue
		}
		out = append(out, SandboxMessage{ID: m.ID, VerificationID: m.VerificationID, Channel: m.Channel,
			To: m.ToMasked, Body: b.Text, Code: b.Code, CreatedAt: m.CreatedAt.UTC()})
	}
	return out, nil
}

// ChannelAnalytics returns per-channel figures of a tenant's
// verifications created in [from, to), optionally of one kind.
func (s *Service) ChannelAnalytics(ctx context.Context, tenantID string, from, to time.Time, kind contract.Kind) ([]store.ChannelStats, error) {
	stats, err := s.d.Store.ChannelAnalytics(ctx, tenantID, from, to, string(kind))
	if err != nil {
		return nil, unavailable("analytics", err)
	}
	return stats, nil
}
