package verify

import (
	"context"
	"time"

	"github.com/veriflow/veriflow/internal/admission"
)

// admit decides, before any other work, whether tenant t may start now, so
// that one tenant's flood waits at its own door instead of in front of the
// other tenants' verifications (docs/reliability.md, Isolation). Three
// rules, each off at 0: the tenant's starts in flight in this replica
// (Admission); the share rule (Share: when the unsent starts of all
// tenants reach the global bound, a tenant holding its fair share of it is
// refused, read from a snapshot refreshed every admission.ShareRefresh);
// and its verifications started but not sent yet, counted in Postgres for
// all replicas (UnsentStarts). Concurrent starts may each see the last free
// unsent slot, so the unsent bounds overshoot by at most the starts in
// flight. release gives the in-flight slot back when the start is done.
func (s *Service) admit(ctx context.Context, t Tenant) (release func(), err error) {
	release, ok := s.d.Admission.Acquire(t.ID)
	if !ok {
		return nil, s.busy(ctx, t, "starts_in_flight", s.d.Admission.Limit())
	}
	switch admitted, shareErr := s.d.Share.Admit(ctx, t.ID); {
	case shareErr != nil:
		release()
		return nil, unavailable("admission", shareErr)
	case !admitted:
		release()
		return nil, s.busy(ctx, t, "unsent_starts_share", s.d.Share.Bound())
	}
	if s.d.UnsentStarts > 0 {
		n, err := s.d.Store.UnsentStarts(ctx, t.ID, time.Now().Add(-admission.UnsentWindow), s.d.UnsentStarts)
		if err != nil {
			release()
			return nil, unavailable("admission", err)
		}
		if n >= s.d.UnsentStarts {
			release()
			return nil, s.busy(ctx, t, "unsent_starts", s.d.UnsentStarts)
		}
	}
	return release, nil
}

// busy is the refusal of a start for its own tenant's load.
func (s *Service) busy(ctx context.Context, t Tenant, bound string, limit int) error {
	s.d.Log.DebugContext(ctx, "start refused: tenant busy", "tenant_id", t.ID, "bound", bound, "limit", limit)
	return &Error{Kind: RateLimited, Detail: "Too many verifications of this account are being started; retry shortly.", RetryAfter: time.Second}
}
