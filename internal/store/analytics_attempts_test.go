package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/veriflow/veriflow/internal/contract"
)

// putVerification stores a verification as the projection would leave it.
func putVerification(t *testing.T, s *Store, tenant, id string, kind contract.Kind, country string, created time.Time,
	status contract.Status, completed *time.Time, attempts []contract.Attempt) {
	t.Helper()
	ctx := t.Context()
	if err := s.EnsureTenant(ctx, tenant, tenant); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.InsertVerification(ctx, StartRequest{Verification: Verification{ID: id, TenantID: tenant, Mode: contract.ModeLive,
		Kind: kind, Status: contract.StatusPending, ToPhone: "+1500*****00", Country: country, ChecksLeft: 5,
		CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	raw, err := attemptsJSON(attempts)
	if err != nil {
		t.Fatal(err)
	}
	var last *string
	if n := len(attempts); n > 0 {
		last = nullable(string(attempts[n-1].Channel))
	}
	if _, err := s.pool.Exec(ctx, `update verifications set status = $2, attempts = $3, completed_at = $4, channel = $5, version = 1 where id = $1`,
		id, string(status), raw, completed, last); err != nil {
		t.Fatal(err)
	}
}

// TestAttemptAnalytics checks exact figures on a small hand-made dataset:
// counts, reasons, percentiles, which attempt an approval goes to, the
// unknown country, and a row whose attempts are JSON null.
func TestAttemptAnalytics(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	at := func(sec int) *time.Time { v := t0.Add(time.Duration(sec) * time.Second); return &v }
	att := func(seq int, ch contract.Channel, provider string, st contract.AttemptStatus, reason contract.FailureReason, sent, delivered, read *time.Time) contract.Attempt {
		return contract.Attempt{Seq: seq, Channel: ch, Provider: provider, Status: st, Error: reason, SentAt: sent, DeliveredAt: delivered, ReadAt: read, UpdatedAt: t0}
	}
	sms, wa, email := contract.ChannelSMS, contract.ChannelWhatsApp, contract.ChannelEmail
	signup := contract.KindSignup
	// Failover whatsapp → sms, approved at +10 s: the sms attempt (delivered) gets it.
	putVerification(t, s, "ta", "vf_a1", signup, "US", t0, contract.StatusApproved, at(10), []contract.Attempt{
		att(1, wa, "meta", contract.AttemptFailed, "not_on_whatsapp", at(0), nil, nil),
		att(2, sms, "twilio", contract.AttemptDelivered, "", at(1), at(3), nil)})
	// No receipt: the latest sent attempt gets it (20 s).
	putVerification(t, s, "ta", "vf_a2", signup, "US", t0, contract.StatusApproved, at(20), []contract.Attempt{
		att(1, sms, "twilio", contract.AttemptSent, "", at(0), nil, nil)})
	// Delivered then resent: the delivered one gets it, not the later send (40 s).
	putVerification(t, s, "ta", "vf_a3", signup, "US", t0, contract.StatusApproved, at(40), []contract.Attempt{
		att(1, sms, "twilio", contract.AttemptDelivered, "", at(0), at(4), nil),
		att(2, sms, "twilio", contract.AttemptSent, "", at(30), nil, nil)})
	putVerification(t, s, "ta", "vf_a4", signup, "GB", t0, contract.StatusExpired, at(600), []contract.Attempt{
		att(1, sms, "twilio", contract.AttemptUndelivered, "", at(0), nil, nil)})
	putVerification(t, s, "ta", "vf_a5", signup, "GB", t0, contract.StatusFailed, at(5), []contract.Attempt{
		att(1, sms, "twilio", contract.AttemptFailed, "invalid_number", at(0), nil, nil)})
	// An email-only verification: no country.
	putVerification(t, s, "ta", "vf_a6", signup, "", t0, contract.StatusPending, nil, []contract.Attempt{
		att(1, email, "smtp", contract.AttemptRead, "", at(0), at(1), at(2))})
	// Never sent (superseded before the send): no row at all.
	putVerification(t, s, "ta", "vf_a7", signup, "US", t0, contract.StatusCanceled, at(1), nil)
	// Another kind, another tenant, another period.
	putVerification(t, s, "ta", "vf_a8", contract.KindTransaction, "FR", t0, contract.StatusApproved, at(8), []contract.Attempt{
		att(1, sms, "vonage", contract.AttemptDelivered, "", at(0), at(2), nil)})
	putVerification(t, s, "tb", "vf_b1", signup, "US", t0, contract.StatusApproved, at(8), []contract.Attempt{
		att(1, sms, "twilio", contract.AttemptDelivered, "", at(0), at(2), nil)})
	putVerification(t, s, "ta", "vf_a9", signup, "US", t0.Add(-24*time.Hour), contract.StatusApproved, at(8), []contract.Attempt{
		att(1, sms, "twilio", contract.AttemptDelivered, "", at(0), at(2), nil)})
	// A row whose attempts are the JSON scalar null (as the bug once wrote),
	// unless the database refuses it now.
	putVerification(t, s, "ta", "vf_null", signup, "US", t0, contract.StatusCanceled, at(1), []contract.Attempt{})
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `update verifications set attempts = 'null'::jsonb where id = 'vf_null'`)
		return err
	})
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "23514":
		t.Log("attempts = null is refused by a check constraint; the query guards anyway")
	case err != nil:
		t.Fatal(err)
	}

	// The same figures from the raw rows (a period within a day, or a day
	// not closed yet) and from the day's rollup (made on first demand, then
	// read), alone or with raw rows around it.
	day := t0.Truncate(24 * time.Hour)
	for _, p := range []struct {
		name          string
		from, to, now time.Time
	}{
		{"raw", t0.Add(-time.Minute), t0.Add(time.Hour), time.Now()},
		{"open day", day, day.Add(24 * time.Hour), t0.Add(time.Hour)},
		{"rollup", day, day.Add(24 * time.Hour), time.Now()},
		{"rollup again", day, day.Add(24 * time.Hour), time.Now()},
		{"rollup and raw", day.Add(-time.Hour), day.Add(26 * time.Hour), time.Now()},
	} {
		t.Run(p.name, func(t *testing.T) { checkAttemptFigures(t, s, p.from, p.to, p.now) })
	}
	// The per-channel figures, from the raw rows and from the rollup.
	raw, err := s.channelAnalytics(ctx, "ta", day, day.Add(24*time.Hour), "signup", t0)
	if err != nil {
		t.Fatal(err)
	}
	rolledUp, err := s.channelAnalytics(ctx, "ta", day, day.Add(24*time.Hour), "signup", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 3 || raw[1].Channel != "sms" || raw[1].Sent != 6 || raw[1].Delivered != 2 || raw[1].Failed != 2 ||
		raw[1].Reached != 5 || raw[1].Approvals != 3 || raw[1].MedianApprove == nil || *raw[1].MedianApprove != 20*time.Second {
		t.Fatalf("channels %+v", raw)
	}
	if fmt.Sprint(raw) != fmt.Sprint(rolledUp) {
		t.Fatalf("channels: raw %+v, rolled up %+v", raw, rolledUp)
	}
	var rolled int
	if err := s.pool.QueryRow(ctx, `select count(*) from attempt_daily_days where tenant_id = 'ta'`).Scan(&rolled); err != nil || rolled != 1 {
		t.Fatalf("rolled-up days: %d %v", rolled, err)
	}
	from, to := t0.Add(-time.Minute), t0.Add(time.Hour)
	// All kinds: the transaction shows up; another tenant's never does.
	all, err := s.AttemptAnalytics(ctx, "ta", from, to, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 || all[1].Country != "FR" || all[1].Provider != "vonage" || all[1].Approvals != 1 {
		t.Fatalf("all kinds: %+v", all)
	}
	if none, err := s.AttemptAnalytics(ctx, "tc", from, to, ""); err != nil || len(none) != 0 {
		t.Fatalf("empty tenant: %v %+v", err, none)
	}
	// The per-channel figures keep answering too.
	if _, err := s.ChannelAnalytics(ctx, "ta", from, to, ""); err != nil {
		t.Fatalf("channel analytics with a null row: %v", err)
	}
}

func checkAttemptFigures(t *testing.T, s *Store, from, to, now time.Time) {
	got, err := s.attemptAnalytics(t.Context(), "ta", from, to, "signup", now)
	if err != nil {
		t.Fatal(err)
	}
	sec := func(s float64) *time.Duration { d := time.Duration(s * float64(time.Second)); return &d }
	want := []AttemptStats{
		{Channel: "email", Country: "unknown", Provider: "smtp", Sent: 1, Delivered: 1, Read: 1, FailedBy: map[string]int{},
			Reached: 1, DeliverP50: sec(1), DeliverP90: sec(1)},
		{Channel: "sms", Country: "GB", Provider: "twilio", Sent: 2, Failed: 2, FailedBy: map[string]int{"unknown": 1, "invalid_number": 1},
			Reached: 2},
		{Channel: "sms", Country: "US", Provider: "twilio", Sent: 4, Delivered: 2, FailedBy: map[string]int{}, Approvals: 3, Reached: 3,
			DeliverP50: sec(3), DeliverP90: sec(3.8), ApproveP50: sec(20), ApproveP90: sec(36)},
		{Channel: "whatsapp", Country: "US", Provider: "meta", Sent: 1, Failed: 1, FailedBy: map[string]int{"not_on_whatsapp": 1}, Reached: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Channel != w.Channel || g.Country != w.Country || g.Provider != w.Provider || g.Sent != w.Sent || g.Delivered != w.Delivered ||
			g.Read != w.Read || g.Failed != w.Failed || g.Approvals != w.Approvals || g.Reached != w.Reached || !maps.Equal(g.FailedBy, w.FailedBy) ||
			!sameDur(g.DeliverP50, w.DeliverP50) || !sameDur(g.DeliverP90, w.DeliverP90) ||
			!sameDur(g.ApproveP50, w.ApproveP50) || !sameDur(g.ApproveP90, w.ApproveP90) {
			t.Errorf("row %d:\n got %s\nwant %s", i, fmtStats(g), fmtStats(w))
		}
	}
}

func sameDur(a, b *time.Duration) bool {
	if a == nil || b == nil {
		return a == b
	}
	return (*a - *b).Abs() < time.Millisecond
}

func fmtStats(a AttemptStats) string {
	d := func(p *time.Duration) string {
		if p == nil {
			return "-"
		}
		return p.String()
	}
	b, _ := json.Marshal(a)
	return string(b) + " deliver " + d(a.DeliverP50) + "/" + d(a.DeliverP90) + " approve " + d(a.ApproveP50) + "/" + d(a.ApproveP90)
}
