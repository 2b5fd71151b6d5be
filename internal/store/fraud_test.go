package store

import (
	"math"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/fraud"
)

// TestFraudCounters checks the engine's counters on an injected clock: the
// sliding hour, the day, the 14-day peaks, today's sends, the per-IP
// distinct counts, and that approvals and sends of a verification count once.
func TestFraudCounters(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	day := time.Date(2030, 1, 10, 0, 0, 0, 0, time.UTC)
	keys := []string{"country:GB", "prefix:+44-740"}
	// History: 8 approvals in one hour five days ago, 20 that day.
	if err := s.SeedFraudCounters(ctx, "t1", []FraudCount{
		{Key: "country:GB", Hour: day.Add(-5*24*time.Hour + 10*time.Hour), Starts: 10, Approvals: 8},
		{Key: "country:GB", Hour: day.Add(-5*24*time.Hour + 11*time.Hour), Starts: 14, Approvals: 12},
		{Key: "country:GB", Hour: day.Add(-20 * 24 * time.Hour), Starts: 900, Approvals: 900}, // too old to count
	}); err != nil {
		t.Fatal(err)
	}
	observe := func(at time.Time, ip, country, dest string) fraud.Observation {
		t.Helper()
		o, err := s.ObserveStart(ctx, fraud.Observe{Tenant: "t1", Keys: keys, IP: ip, Country: country, DestinationHash: dest, At: at})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	// Four starts in the 09:00 hour, then one at 10:30: the sliding hour
	// carries half of the previous hour.
	for i := range 4 {
		observe(day.Add(9*time.Hour+time.Duration(i)*time.Minute), "192.0.2.1", "GB", "d1")
	}
	if err := s.AddFraudCounts(ctx, "t1", keys, 2, 0, day.Add(9*time.Hour+30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddFraudCounts(ctx, "t1", []string{"country:GB"}, 0, 3, day.Add(9*time.Hour+31*time.Minute)); err != nil {
		t.Fatal(err)
	}
	o := observe(day.Add(10*time.Hour+30*time.Minute), "192.0.2.1", "FR", "d2")
	c := o.Counts["country:GB"]
	want := fraud.Counts{StartsHour: 1 + 4*0.5, ApprovalsHour: 2 * 0.5, StartsDay: 5, ApprovalsDay: 2,
		PeakApprovalsHour: 12, PeakApprovalsDay: 20, SendsToday: 3}
	if !near(c, want) {
		t.Fatalf("counts %+v, want %+v", c, want)
	}
	if p := o.Counts["prefix:+44-740"]; p.StartsDay != 5 || p.PeakApprovalsDay != 0 {
		t.Fatalf("prefix counts %+v", p)
	}
	if o.IP != (fraud.IPSeen{Countries: 2, Destinations: 2}) {
		t.Fatalf("ip seen %+v", o.IP)
	}
	// The next day: today's sends start again, the day window still holds
	// yesterday's evening.
	o = observe(day.Add(24*time.Hour+time.Hour), "192.0.2.1", "GB", "d1")
	if c := o.Counts["country:GB"]; c.SendsToday != 0 || c.StartsDay < 1 {
		t.Fatalf("next day %+v", c)
	}
	if o.IP != (fraud.IPSeen{Countries: 1, Destinations: 1}) {
		t.Fatalf("ip seen the next day %+v", o.IP)
	}

	// A verification's approval counts once under its keys; its SMS and
	// voice sends count once each under its country, however often the
	// projection runs.
	now := time.Now().UTC()
	if err := s.EnsureTenant(ctx, "t2", "t2"); err != nil {
		t.Fatal(err)
	}
	risk := fraud.Risk{Decision: fraud.Allow, Mode: fraud.Enforce, Reasons: []fraud.Reason{}}
	if _, _, err := s.InsertVerification(ctx, StartRequest{Verification: Verification{ID: "vf_f1", TenantID: "t2", Mode: contract.ModeLive,
		Kind: contract.KindSignup, Status: contract.StatusPending, ToPhone: "+44*****456", ChecksLeft: 5, Attempts: []contract.Attempt{},
		CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute), Risk: &risk, FraudKeys: keys}}); err != nil {
		t.Fatal(err)
	}
	sent := now
	st := contract.State{Status: contract.StatusPending, ChecksLeft: 5, Attempts: []contract.Attempt{
		{Seq: 1, Channel: contract.ChannelWhatsApp, Status: contract.AttemptFailed, SentAt: &sent, UpdatedAt: now},
		{Seq: 2, Channel: contract.ChannelSMS, Status: contract.AttemptSent, SentAt: &sent, UpdatedAt: now}}}
	for v := int64(1); v <= 3; v++ {
		st.Version = v
		if _, err := s.Record(ctx, contract.RecordInput{TenantID: "t2", VerificationID: "vf_f1", State: st}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if err := s.CountApproval(ctx, "t2", "vf_f1", now); err != nil {
			t.Fatal(err)
		}
	}
	var approvals, sends int
	if err := s.pool.QueryRow(ctx, `select coalesce(sum(approvals) filter (where key = 'prefix:+44-740'), 0),
		coalesce(sum(sends) filter (where key = 'country:GB'), 0) from fraud_counters where tenant_id = 't2'`).Scan(&approvals, &sends); err != nil {
		t.Fatal(err)
	}
	if approvals != 1 || sends != 1 {
		t.Fatalf("approvals %d, sends %d; want 1 and 1", approvals, sends)
	}
	v, err := s.GetVerification(ctx, "t2", "vf_f1")
	if err != nil || v.Risk == nil || v.Risk.Decision != fraud.Allow {
		t.Fatalf("risk read back: %+v, %v", v.Risk, err)
	}
	// The database refuses a risk that is not one of the decisions.
	if _, err := s.pool.Exec(ctx, `update verifications set risk = '{"decision":"maybe","mode":"enforce","reasons":[]}' where id = 'vf_f1'`); err == nil {
		t.Fatal("a risk with an unknown decision was stored")
	}
	// A risk whose reasons do not decode reads as none: the read still works.
	if _, err := s.pool.Exec(ctx, `update verifications set risk = '{"decision":"block","mode":"enforce","reasons":[{"value":"x"}]}' where id = 'vf_f1'`); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetVerification(ctx, "t2", "vf_f1"); err != nil || v.Risk != nil {
		t.Fatalf("odd risk read back: %+v, %v", v.Risk, err)
	}
	rows, counts, err := s.RiskReport(ctx, "t2", now.Add(-time.Hour), now.Add(time.Hour), 10)
	if err != nil || len(rows) != 1 || len(counts) != 1 || counts[0].Decision != fraud.Block || counts[0].Verifications != 1 {
		t.Fatalf("report %+v %+v %v", rows, counts, err)
	}
	if err := s.PruneFraud(ctx, day.Add(40*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
}

func near(a, b fraud.Counts) bool {
	eq := func(x, y float64) bool { return math.Abs(x-y) < 0.01 }
	return eq(a.StartsHour, b.StartsHour) && eq(a.ApprovalsHour, b.ApprovalsHour) && eq(a.StartsDay, b.StartsDay) &&
		eq(a.ApprovalsDay, b.ApprovalsDay) && eq(a.PeakApprovalsHour, b.PeakApprovalsHour) && eq(a.PeakApprovalsDay, b.PeakApprovalsDay) &&
		eq(a.SendsToday, b.SendsToday)
}
