package verify

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/fraud"
	"github.com/veriflow/veriflow/internal/providers/sandbox"
	"github.com/veriflow/veriflow/internal/store"
)

// cheapChannels are the channels a challenged start keeps: they cannot be
// pumped for money (no per-message revenue share reaches the number's
// owner).
var cheapChannels = []contract.Channel{contract.ChannelWhatsApp, contract.ChannelRCS, contract.ChannelEmail}

// assess runs the fraud engine on a new start and acts on its decision in
// enforce mode: a block refuses the start, a challenge drops SMS and voice
// from the plan (and refuses the start when no channel is left). It fills
// in the row's risk and signal keys. Test keys are never assessed (they
// send nothing); their scripted numbers +15005550008 and +15005550009 play
// a challenge and a block.
func (s *Service) assess(ctx context.Context, t Tenant, in *StartInput, row *store.Verification) error {
	r, keys, err := s.risk(ctx, t, in, row)
	if err != nil {
		return unavailable("fraud engine", err)
	}
	row.Risk, row.FraudKeys = &r, keys
	if r.Decision == fraud.Challenge && r.Mode == fraud.Enforce {
		in.Policy.Plan.Channels = slices.DeleteFunc(slices.Clone(in.Policy.Plan.Channels), func(ch contract.Channel) bool {
			return !slices.Contains(cheapChannels, ch) || !reachable(ch, in.To)
		})
		if len(in.Policy.Plan.Channels) == 0 {
			r.Decision = fraud.Block
			r.Reasons = append(r.Reasons, fraud.Reason{Signal: fraud.NoCheapChannel})
			row.Risk = &r
		}
	}
	if s.d.Metrics != nil && t.Mode == contract.ModeLive {
		s.d.Metrics.Risk(r)
	}
	if r.Decision == fraud.Allow {
		return nil
	}
	s.d.Log.WarnContext(ctx, "start risk", "tenant_id", t.ID, "decision", r.Decision, "mode", r.Mode,
		"reasons", riskDetail(r), "to_phone", row.ToPhone)
	if r.Decision == fraud.Block && r.Mode == fraud.Enforce {
		e := contract.Event{Type: contract.EventRiskAssessed, Detail: riskDetail(r), At: time.Now().UTC()}
		if err := s.d.Store.AppendEvent(ctx, "", t.ID, e); err != nil {
			s.d.Log.WarnContext(ctx, "audit blocked start", "error", err)
		}
		return &Error{Kind: Blocked, Code: "blocked", Risk: &r,
			Detail: "This verification was blocked by the fraud engine; nothing was sent."}
	}
	return nil
}

// risk is the engine's decision on a start and the keys it was counted
// under.
func (s *Service) risk(ctx context.Context, t Tenant, in *StartInput, row *store.Verification) (fraud.Risk, []string, error) {
	if t.Mode == contract.ModeTest || s.d.Fraud == nil {
		return sandboxRisk(in.To.Phone, s.d.Fraud, t.ID), nil, nil
	}
	keys := fraud.KeysFor(in.To.Phone, in.ClientIP)
	r, err := s.d.Fraud.Assess(ctx, fraud.Start{Tenant: t.ID, Keys: keys,
		DestinationHash: hexOrEmpty(row.ToPhoneHash) + hexOrEmpty(row.ToEmailHash), At: time.Now()})
	if err != nil || keys.Empty() {
		return r, nil, err
	}
	return r, keys.Strings(), nil
}

// sandboxRisk is a test key's risk: allow, but a challenge or a block for
// the scripted numbers, in the tenant's mode.
func sandboxRisk(phone string, e *fraud.Engine, tenant string) fraud.Risk {
	mode := fraud.Enforce
	if e != nil {
		mode = e.Settings(tenant).Mode
	}
	r := fraud.Risk{Decision: fraud.Allow, Mode: mode, Reasons: []fraud.Reason{}}
	switch phone {
	case sandbox.PhoneRiskChallenge:
		r.Decision, r.Reasons = fraud.Challenge, []fraud.Reason{{Signal: fraud.Sandbox}}
	case sandbox.PhoneRiskBlock:
		r.Decision, r.Reasons = fraud.Block, []fraud.Reason{{Signal: fraud.Sandbox}}
	}
	return r
}

// reachable reports whether the start has a destination for ch.
func reachable(ch contract.Channel, to contract.Destinations) bool {
	if ch == contract.ChannelEmail {
		return to.Email != ""
	}
	return to.Phone != ""
}

// riskDetail is the audit and log form of a risk: decision, mode and each
// reason with its value and threshold.
func riskDetail(r fraud.Risk) string {
	parts := []string{string(r.Decision) + " (" + string(r.Mode) + ")"}
	for _, x := range r.Reasons {
		parts = append(parts, x.String())
	}
	return strings.Join(parts, "; ")
}

// auditRisk appends a started verification's non-allow risk to its audit
// trail.
func (s *Service) auditRisk(ctx context.Context, row store.Verification) {
	if row.Risk == nil || row.Risk.Decision == fraud.Allow {
		return
	}
	e := contract.Event{Type: contract.EventRiskAssessed, Detail: riskDetail(*row.Risk), At: time.Now().UTC()}
	if err := s.d.Store.AppendEvent(ctx, row.ID, row.TenantID, e); err != nil {
		s.d.Log.WarnContext(ctx, "audit risk", "verification_id", row.ID, "error", err)
	}
}

// countApproval counts an approved verification under its signal keys: the
// engine's baselines learn from approvals. A failure is logged: the check
// was answered, and one uncounted approval only makes its keys look a
// little less verified.
func (s *Service) countApproval(ctx context.Context, v store.Verification) {
	if s.d.Fraud == nil || v.Mode == contract.ModeTest {
		return
	}
	if err := s.d.Store.CountApproval(ctx, v.TenantID, v.ID, time.Now()); err != nil {
		s.d.Log.WarnContext(ctx, "count approval for the fraud engine", "verification_id", v.ID, "error", err)
	}
}

// RiskReport is a period's challenged and blocked verifications (shadow
// mode: what enforcement would have done), newest first, with counts.
type RiskReport struct {
	Mode          fraud.Mode
	Counts        []store.RiskCount
	Verifications []store.RiskRow
}

// RiskReport lists a tenant's verifications started in [from, to) that the
// fraud engine challenged or blocked (in shadow mode: would have), at most
// limit of them, and counts them by decision and mode with how many were
// approved anyway. Blocked starts in enforce mode have no verification: they
// are in the audit trail and the metrics.
func (s *Service) RiskReport(ctx context.Context, tenantID string, from, to time.Time, limit int) (RiskReport, error) {
	rows, counts, err := s.d.Store.RiskReport(ctx, tenantID, from, to, limit)
	if err != nil {
		return RiskReport{}, unavailable("risk report", err)
	}
	mode := fraud.Enforce
	if s.d.Fraud != nil {
		mode = s.d.Fraud.Settings(tenantID).Mode
	}
	return RiskReport{Mode: mode, Counts: counts, Verifications: rows}, nil
}
