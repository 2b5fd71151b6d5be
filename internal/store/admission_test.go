package store

import (
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/veriflow/veriflow/internal/contract"
)

// TestUnsentByTenant: the share rule's count holds, per tenant, the
// pending verifications created in the window with no attempt, and
// nothing else (sent, final, older); it can be answered from the partial
// index of migration 011.
func TestUnsentByTenant(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, tenant := range []string{"unsent_a", "unsent_b", "unsent_c"} {
		if err := s.EnsureTenant(ctx, tenant, tenant); err != nil {
			t.Fatal(err)
		}
	}
	put := func(tenant string, status contract.Status, created time.Time, attempts []contract.Attempt) {
		t.Helper()
		v := Verification{ID: "vf_" + ulid.Make().String(), TenantID: tenant, Mode: contract.ModeTest, Kind: contract.KindSignup,
			Status: status, ChecksLeft: 5, Attempts: attempts, CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute)}
		if status != contract.StatusPending {
			v.CompletedAt = &now
		}
		_, _, err := s.InsertVerification(ctx, StartRequest{Verification: v})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		put("unsent_a", contract.StatusPending, now, []contract.Attempt{})
	}
	put("unsent_b", contract.StatusPending, now, []contract.Attempt{})
	put("unsent_a", contract.StatusPending, now, []contract.Attempt{{Seq: 1, Channel: contract.ChannelSMS, Status: contract.AttemptSending, UpdatedAt: now}})
	put("unsent_a", contract.StatusPending, now.Add(-5*time.Minute), []contract.Attempt{})
	put("unsent_c", contract.StatusCanceled, now, []contract.Attempt{})

	got, err := s.UnsentByTenant(ctx, now.Add(-2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["unsent_a"] != 3 || got["unsent_b"] != 1 {
		t.Fatalf("unsent by tenant %v, want unsent_a 3, unsent_b 1", got)
	}

	// At size — three days of finished verifications and ten minutes of
	// pending ones, mostly older than the window — the planner reads the
	// count from the partial index.
	if _, err := s.pool.Exec(ctx, `insert into verifications (id, tenant_id, mode, kind, status, checks_left, created_at, expires_at, completed_at)
		select 'vf_seed_' || g, 'unsent_c', 'test', 'signup', case when g <= 2000 then 'pending' else 'expired' end, 5,
			now() - g * interval '300 milliseconds', now() - g * interval '300 milliseconds' + interval '10 minutes',
			case when g <= 2000 then null else now() - g * interval '300 milliseconds' + interval '10 minutes' end
		from generate_series(1, 60000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "analyze verifications"); err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	rows, err := s.pool.Query(ctx, `explain select tenant_id, count(*) from verifications
		where status = 'pending' and created_at > $1 and attempts = '[]'::jsonb group by tenant_id`, time.Now().Add(-2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.String(), "verifications_unsent") {
		t.Fatalf("the count does not use verifications_unsent:\n%s", plan.String())
	}
	t.Logf("plan at 60 000 rows:\n%s", plan.String())
}
