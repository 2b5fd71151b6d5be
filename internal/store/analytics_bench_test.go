package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/contract"
)

// TestAnalyticsAtSize seeds VERIFLOW_ANALYTICS_ROWS verifications (default
// 3000, so that make test stays fast; `make bench-analytics` runs 1 000 000)
// over 90 days for five tenants, then times both analytics queries over a
// 30-day window of the largest tenant (VERIFLOW_ANALYTICS_RUNS runs, default
// 3; p50/p99; the first call, which makes the rollups of the closed days,
// apart) and the projection (store.Record) with and without migration 007
// (its column, dropped and added back in alternating rounds; its rollup
// tables are never written by Record). It prints the figures; speed
// targets are read, not asserted.
func TestAnalyticsAtSize(t *testing.T) {
	rows, runs := envInt(t, "VERIFLOW_ANALYTICS_ROWS", 3000), envInt(t, "VERIFLOW_ANALYTICS_RUNS", 3)
	s := openLimits(t)
	ctx := t.Context()
	end := time.Now().UTC().Truncate(time.Minute)
	start := time.Now()
	if err := seedAnalytics(ctx, s, rows, end); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d verifications in %s", rows, time.Since(start).Round(time.Millisecond))

	from, to := end.Add(-30*24*time.Hour), end
	var n int
	if err := s.pool.QueryRow(ctx, `select count(*) from verifications where tenant_id = 'tenant_0' and created_at >= $1 and created_at < $2`,
		from, to).Scan(&n); err != nil {
		t.Fatal(err)
	}
	t.Logf("window: tenant_0, 30 days: %d verifications", n)
	for _, q := range []struct {
		name string
		run  func(kind string) (int, error)
	}{
		{"GET /v1/analytics/attempts", func(kind string) (int, error) {
			r, err := s.AttemptAnalytics(ctx, "tenant_0", from, to, kind)
			return len(r), err
		}},
		{"GET /v1/analytics/channels", func(kind string) (int, error) {
			r, err := s.ChannelAnalytics(ctx, "tenant_0", from, to, kind)
			return len(r), err
		}},
	} {
		t0 := time.Now()
		if _, err := q.run(""); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: first call %s (makes the missing rollups)", q.name, time.Since(t0).Round(time.Millisecond))
		for _, kind := range []string{"", "signup"} {
			times := make([]time.Duration, 0, runs)
			var groups int
			for range runs {
				t0 := time.Now()
				g, err := q.run(kind)
				if err != nil {
					t.Fatalf("%s: %v", q.name, err)
				}
				times, groups = append(times, time.Since(t0)), g
			}
			slices.Sort(times)
			t.Logf("%s kind=%q: %d rows; p50 %s p99 %s max %s over %d runs", q.name, kind, groups,
				pct(times, 0.50), pct(times, 0.99), times[len(times)-1], runs)
		}
	}

	// The projection's cost: Record on existing rows, with and without
	// migration 007's column, in alternating rounds on different rows.
	records := min(envInt(t, "VERIFLOW_ANALYTICS_RECORDS", 200), rows/4)
	r, err := s.pool.Query(ctx, `select id, tenant_id from verifications order by random() limit $1`, 2*records)
	if err != nil {
		t.Fatal(err)
	}
	type target struct{ id, tenant string }
	targets, err := pgx.CollectRows(r, func(r pgx.CollectableRow) (target, error) {
		var x target
		return x, r.Scan(&x.id, &x.tenant)
	})
	if err != nil {
		t.Fatal(err)
	}
	times := map[bool][]time.Duration{}
	const rounds = 4
	for round := range rounds {
		with := round%2 == 0
		ddl := `alter table verifications drop column country`
		if with {
			ddl = `alter table verifications add column if not exists country text check (country ~ '^([A-Z]{2}|001)$')`
		}
		if _, err := s.pool.Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
		for i, x := range targets[round*len(targets)/rounds : (round+1)*len(targets)/rounds] {
			now := time.Now().UTC()
			in := contract.RecordInput{VerificationID: x.id, TenantID: x.tenant, State: contract.State{
				Status: contract.StatusApproved, Channel: contract.ChannelSMS, ChecksLeft: 4, CompletedAt: &now, Version: 1000 + int64(i),
				Attempts: []contract.Attempt{{Seq: 1, Channel: contract.ChannelSMS, Status: contract.AttemptDelivered, Provider: "twilio",
					MessageID: "SM" + x.id, SentAt: &now, DeliveredAt: &now, UpdatedAt: now}}},
				Events: []contract.Event{{Type: "approved", At: now}}}
			t0 := time.Now()
			if _, err := s.Record(ctx, in, nil); err != nil {
				t.Fatal(err)
			}
			times[with] = append(times[with], time.Since(t0))
		}
	}
	for _, with := range []bool{false, true} {
		d := times[with]
		slices.Sort(d)
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		label := map[bool]string{false: "without 007", true: "with 007"}[with]
		t.Logf("store.Record %s: mean %s p50 %s p99 %s over %d calls", label,
			(sum / time.Duration(len(d))).Round(time.Microsecond), pct(d, 0.5), pct(d, 0.99), len(d))
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted)-1) * p)
	return sorted[i].Round(10 * time.Microsecond)
}

// seedAnalytics writes n verifications in created_at order (as they arrive)
// over the 90 days before end with COPY: five tenants (40/25/15/10/10 %),
// three kinds, nine countries and no country, four channels, three SMS
// providers, one or two attempts, every final status and some pending.
func seedAnalytics(ctx context.Context, s *Store, n int, end time.Time) error {
	for i := range 5 {
		if err := s.EnsureTenant(ctx, "tenant_"+strconv.Itoa(i), "bench"); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(weights []int) int {
		x := rng.IntN(100)
		for i, w := range weights {
			if x < w {
				return i
			}
			x -= w
		}
		return len(weights) - 1
	}
	tenantW := []int{40, 25, 15, 10, 10}
	kinds := []string{"signup", "two_factor", "transaction"}
	countries := []string{"US", "GB", "FR", "DE", "IN", "BR", "NG", "ID", "IT", ""}
	type route struct{ channel, provider string }
	routes := []route{{"sms", "twilio"}, {"sms", "vonage"}, {"sms", "messagebird"}, {"whatsapp", "meta"}, {"email", "smtp"}, {"voice", "twilio"}}
	routeW := []int{30, 20, 10, 25, 10, 5}
	reasons := []contract.FailureReason{"not_on_whatsapp", "invalid_number", "undelivered", "provider_error", "timeout"}
	span := 90 * 24 * time.Hour
	first := end.Add(-span)
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		created := first.Add(time.Duration(float64(span) * float64(i) / float64(n)))
		id := fmt.Sprintf("vf_bench%08d", i)
		i++
		tenant := "tenant_" + strconv.Itoa(pick(tenantW))
		var country *string
		if c := countries[rng.IntN(len(countries))]; c != "" {
			country = &c
		}
		status := []contract.Status{contract.StatusApproved, contract.StatusExpired, contract.StatusFailed, contract.StatusPending}[pick([]int{70, 15, 10, 5})]
		nAtt := 1 + rng.IntN(5)/4 // 20 % failed over once
		attempts := make([]contract.Attempt, 0, nAtt)
		sent := created.Add(time.Duration(50+rng.IntN(500)) * time.Millisecond)
		for a := range nAtt {
			r := routes[pick(routeW)]
			at := sent.Add(time.Duration(a) * 30 * time.Second)
			att := contract.Attempt{Seq: a + 1, Channel: contract.Channel(r.channel), Provider: r.provider, MessageID: fmt.Sprintf("m%d_%d", i, a),
				SentAt: &at, UpdatedAt: at}
			switch {
			case a < nAtt-1 || status == contract.StatusFailed || (status == contract.StatusExpired && rng.IntN(2) == 0):
				att.Status, att.Error = contract.AttemptFailed, reasons[rng.IntN(len(reasons))]
			case rng.IntN(10) < 8:
				d := at.Add(time.Duration(500+rng.IntN(8000)) * time.Millisecond)
				att.Status, att.DeliveredAt = contract.AttemptDelivered, &d
				if r.channel == "whatsapp" && rng.IntN(2) == 0 {
					rd := d.Add(time.Duration(rng.IntN(20)) * time.Second)
					att.Status, att.ReadAt = contract.AttemptRead, &rd
				}
			default:
				att.Status = contract.AttemptSent
			}
			attempts = append(attempts, att)
		}
		raw, err := json.Marshal(attempts)
		if err != nil {
			return nil, err
		}
		var completed *time.Time
		if status != contract.StatusPending {
			c := sent.Add(time.Duration(5+rng.IntN(120)) * time.Second)
			completed = &c
		}
		return []any{id, tenant, "live", kinds[pick([]int{50, 30, 20})], string(status), attempts[nAtt-1].Channel, "+1500*****00",
			country, 4, raw, created, created.Add(10 * time.Minute), completed, int64(10)}, nil
	})
	if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"verifications"}, []string{"id", "tenant_id", "mode", "kind", "status", "channel",
		"to_phone", "country", "checks_left", "attempts", "created_at", "expires_at", "completed_at", "version"}, src); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	_, err := s.pool.Exec(ctx, `vacuum analyze verifications`)
	return err
}
