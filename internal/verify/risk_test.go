package verify

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/fraud"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/policy"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/store/storetest"
)

// pump starts n live two-factor verifications to numbers of one 5-digit
// block (+44 7400 1…), none of which is ever approved, for tenant id in
// mode m, and returns each start's outcome.
func pump(t *testing.T, m fraud.Mode, n int) (out []error, rows []store.Verification, starts []contract.VerificationInput, st *store.Store) {
	t.Helper()
	ctx := t.Context()
	st = storetest.Open(t)
	if err := st.EnsureTenant(ctx, "t1", "t1"); err != nil {
		t.Fatal(err)
	}
	secrets, err := otp.New(bytes.Repeat([]byte("k"), otp.MinSecretLen))
	if err != nil {
		t.Fatal(err)
	}
	tc := &fakeTemporal{}
	s := New(Deps{Store: st, Temporal: tc, Secrets: secrets, Log: slog.New(slog.DiscardHandler),
		Fraud: fraud.New(st, func(string) fraud.Settings { return fraud.Settings{Mode: m} })})
	live := Tenant{ID: "t1", Mode: contract.ModeLive}
	for i := range n {
		in := StartInput{Kind: contract.KindTwoFactor, To: contract.Destinations{Phone: fmt.Sprintf("+4474001%05d", i)},
			Policy: policy.Default(contract.KindTwoFactor), ClientIP: fmt.Sprintf("192.0.2.%d", i%200+1)}
		res, err := s.Start(ctx, live, in)
		out = append(out, err)
		if err == nil {
			rows = append(rows, res.Verification)
		}
	}
	return out, rows, tc.started(), st
}

// TestRiskEnforce: a block of numbers that never converts is allowed up to
// its floor, then challenged (SMS dropped from the plan, the decision and
// its reasons on the verification and in its audit trail), then blocked
// (403, nothing started, nothing stored).
func TestRiskEnforce(t *testing.T) {
	errs, rows, starts, st := pump(t, fraud.Enforce, 30)
	floor := fraud.DefaultFloors()[fraud.ScopePrefixLong].Hour
	var allowed, challenged, blocked int
	for _, err := range errs {
		if err != nil {
			kindOf(t, err, Blocked)
			blocked++
		}
	}
	for i, r := range rows {
		switch r.Risk.Decision {
		case fraud.Allow:
			allowed++
			if !slices.Contains(starts[i].Plan.Channels, contract.ChannelSMS) {
				t.Fatalf("allowed start %d lost SMS: %v", i, starts[i].Plan.Channels)
			}
		case fraud.Challenge:
			challenged++
			if !slices.Equal(starts[i].Plan.Channels, []contract.Channel{contract.ChannelWhatsApp}) {
				t.Fatalf("challenged start %d plan %v, want WhatsApp only", i, starts[i].Plan.Channels)
			}
			if r.Risk.Reasons[0].Signal != fraud.UnverifiedHour || r.Risk.Reasons[0].Value <= r.Risk.Reasons[0].Threshold {
				t.Fatalf("reasons %+v", r.Risk.Reasons)
			}
			ev, err := st.Events(t.Context(), r.ID)
			if err != nil || !slices.ContainsFunc(ev, func(e store.AuditEvent) bool { return e.Type == string(contract.EventRiskAssessed) }) {
				t.Fatalf("no risk_assessed in the audit trail of %s: %+v %v", r.ID, ev, err)
			}
		default:
			t.Fatalf("stored verification with decision %s", r.Risk.Decision)
		}
	}
	if allowed != floor || challenged == 0 || blocked == 0 || len(starts) != allowed+challenged {
		t.Fatalf("allowed %d (want the floor, %d), challenged %d, blocked %d, workflows %d", allowed, floor, challenged, blocked, len(starts))
	}
}

// TestRiskShadowChangesOnlyTheRecords: the same traffic in shadow mode
// starts every verification with its full plan; the decisions, the same
// as enforcement's, are only recorded (and listed by the report).
func TestRiskShadowChangesOnlyTheRecords(t *testing.T) {
	errs, rows, starts, st := pump(t, fraud.Shadow, 30)
	eErrs, eRows, _, _ := pump(t, fraud.Enforce, 30)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("shadow start %d refused: %v", i, err)
		}
	}
	policyPlan := policy.Default(contract.KindTwoFactor).Plan.Channels
	decisions := map[fraud.Decision]int{}
	for i, r := range rows {
		if !slices.Equal(starts[i].Plan.Channels, policyPlan) {
			t.Fatalf("shadow start %d plan %v, want the policy's %v", i, starts[i].Plan.Channels, policyPlan)
		}
		if r.Risk.Mode != fraud.Shadow {
			t.Fatalf("mode %s", r.Risk.Mode)
		}
		decisions[r.Risk.Decision]++
	}
	// Enforcement decided the same for the same traffic.
	want := map[fraud.Decision]int{}
	for i, err := range eErrs {
		if err != nil {
			want[fraud.Block]++
		} else {
			want[eRows[i-want[fraud.Block]].Risk.Decision]++
		}
	}
	if fmt.Sprint(decisions) != fmt.Sprint(want) {
		t.Fatalf("shadow decisions %v, enforcement's %v", decisions, want)
	}
	rep, err := New(Deps{Store: st}).RiskReport(t.Context(), "t1", rows[0].CreatedAt.Add(-1e9), rows[len(rows)-1].CreatedAt.Add(1e9), 100)
	if err != nil || len(rep.Verifications) != decisions[fraud.Challenge]+decisions[fraud.Block] {
		t.Fatalf("report: %d rows, %v", len(rep.Verifications), err)
	}
}
