package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/tern/v2/migrate"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/localpg"
)

// TestRecordBeforeFirstSendKeepsAnalyticsAnswering is the regression test
// of issue 14: a verification superseded before its first send projects a
// final state with no attempts (a nil slice); its attempts must be stored
// as [] and the tenant's channel analytics must still answer.
func TestRecordBeforeFirstSendKeepsAnalyticsAnswering(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	seedVerification(t, s, "t1", "vf_nil1")
	seedVerification(t, s, "t1", "vf_nil2")
	now := time.Now().UTC()
	for i, st := range []contract.State{
		{Status: contract.StatusCanceled, ChecksLeft: 5, Version: 1, CompletedAt: &now},
		{Status: contract.StatusPending, ChecksLeft: 5, Version: 1},
	} {
		id := fmt.Sprintf("vf_nil%d", i+1)
		if _, err := s.Record(ctx, contract.RecordInput{VerificationID: id, TenantID: "t1", State: st,
			Events: []contract.Event{{Type: "canceled", Detail: "superseded", At: now}}}, nil); err != nil {
			t.Fatalf("record %s: %v", id, err)
		}
		var typ string
		if err := s.pool.QueryRow(ctx, `select jsonb_typeof(attempts) from verifications where id = $1`, id).Scan(&typ); err != nil || typ != "array" {
			t.Fatalf("%s: attempts stored as %q (%v)", id, typ, err)
		}
		v, err := s.GetVerification(ctx, "t1", id)
		if err != nil || v.Attempts == nil || len(v.Attempts) != 0 {
			t.Fatalf("get %s: %+v %v", id, v, err)
		}
	}
	if _, err := s.ChannelAnalytics(ctx, "t1", now.Add(-time.Hour), now.Add(time.Hour), ""); err != nil {
		t.Fatalf("analytics after a start that never sent: %v", err)
	}
}

// badRows are updates that break one invariant each of the read model.
var badRows = map[string]string{
	"attempts null":             `attempts = 'null'`,
	"attempts object":           `attempts = '{}'`,
	"attempts string":           `attempts = '"x"'`,
	"attempt not an object":     `attempts = '[1]'`,
	"attempt without channel":   `attempts = '[{"status": "sent"}]'`,
	"attempt numeric channel":   `attempts = '[{"channel": 1, "status": "sent"}]'`,
	"attempt without status":    `attempts = '[{"channel": "sms"}]'`,
	"attempt numeric sent_at":   `attempts = '[{"channel": "sms", "status": "sent", "sent_at": 5}]'`,
	"unknown status":            `status = 'done', completed_at = now()`,
	"empty status":              `status = ''`,
	"negative checks_left":      `checks_left = -1`,
	"final without completed":   `status = 'approved', completed_at = null`,
	"pending with completed_at": `completed_at = now()`,
}

// TestReadModelRefusesBadShapes: the database refuses every row that breaks
// an invariant the code relies on, and accepts the good shapes.
func TestReadModelRefusesBadShapes(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	seedVerification(t, s, "t1", "vf_bad")
	for name, set := range badRows {
		_, err := s.pool.Exec(ctx, `update verifications set `+set+` where id = 'vf_bad'`)
		if !isCheckViolation(err) {
			t.Errorf("%s: update answered %v, want a check violation", name, err)
		}
	}
	// The same shapes refused on insert too.
	_, err := s.pool.Exec(ctx, `insert into verifications (id, tenant_id, mode, kind, status, checks_left, attempts, created_at, expires_at)
		values ('vf_bad2', 't1', 'test', 'signup', 'pending', 5, 'null', now(), now())`)
	if !isCheckViolation(err) {
		t.Errorf("insert with null attempts: %v", err)
	}
	good := []string{
		`attempts = '[]'`,
		`attempts = '[{"seq": 1, "channel": "sms", "status": "sending", "sent_at": null, "updated_at": "2026-01-01T00:00:00Z"}]'`,
		`attempts = '[{"channel": "sms", "status": "sent", "sent_at": "2026-01-01T00:00:00Z"}]'`,
		`checks_left = 0`,
	}
	for _, set := range good {
		if _, err := s.pool.Exec(ctx, `update verifications set `+set+` where id = 'vf_bad'`); err != nil {
			t.Errorf("%s: %v", set, err)
		}
	}
}

// TestReadModelStatusesMatchContract: every contract status is accepted
// (with completed_at exactly when final), so a new status cannot ship
// without a migration widening the constraint.
func TestReadModelStatusesMatchContract(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	seedVerification(t, s, "t1", "vf_st")
	for _, st := range contract.Statuses {
		var completed *time.Time
		if st.Final() {
			now := time.Now()
			completed = &now
		}
		if _, err := s.pool.Exec(ctx, `update verifications set status = $1, completed_at = $2 where id = 'vf_st'`, string(st), completed); err != nil {
			t.Errorf("status %s refused: %v", st, err)
		}
	}
}

// TestAnalyticsPerTenantWithOtherTenantsRows: a tenant's analytics and
// reads answer whatever another tenant's rows hold; a poisoned row cannot
// be written at all.
func TestAnalyticsPerTenantWithOtherTenantsRows(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	seedVerification(t, s, "a", "vf_a")
	seedVerification(t, s, "b", "vf_b")
	now := time.Now().UTC()
	sent := now
	if _, err := s.Record(ctx, contract.RecordInput{VerificationID: "vf_a", TenantID: "a", State: contract.State{
		Status: contract.StatusApproved, Channel: contract.ChannelSMS, ChecksLeft: 4, Version: 3, CompletedAt: &now,
		Attempts: []contract.Attempt{{Seq: 1, Channel: contract.ChannelSMS, Status: contract.AttemptDelivered, SentAt: &sent}}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(ctx, contract.RecordInput{VerificationID: "vf_b", TenantID: "b", State: contract.State{
		Status: contract.StatusCanceled, ChecksLeft: 5, Version: 1, CompletedAt: &now}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `update verifications set attempts = 'null' where id = 'vf_b'`); !isCheckViolation(err) {
		t.Fatalf("poisoning b's row: %v", err)
	}
	for _, tenant := range []string{"a", "b"} {
		stats, err := s.ChannelAnalytics(ctx, tenant, now.Add(-time.Hour), now.Add(time.Hour), "")
		if err != nil {
			t.Fatalf("analytics %s: %v", tenant, err)
		}
		if tenant == "a" && (len(stats) != 1 || stats[0].Sent != 1 || stats[0].Approvals != 1) {
			t.Fatalf("analytics a: %+v", stats)
		}
	}
}

// TestMigration006RepairsRows: rows written before migration 006 with the
// bad shapes are repaired, and the constraints then hold.
func TestMigration006RepairsRows(t *testing.T) {
	url := localpg.ForTest(t)
	ctx := t.Context()
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	migrateTo(ctx, t, s, 5)
	if _, err := s.pool.Exec(ctx, `insert into tenants (id, name) values ('t1', 't1')`); err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{ // id → status, checks_left, attempts, completed_at
		"vf_null":      `'canceled', 5, 'null', now()`,
		"vf_obj":       `'pending', 5, '{}', null`,
		"vf_mixed":     `'pending', 5, '[1, {"channel": "sms", "status": "sent"}, {"status": "x"}]', null`,
		"vf_neg":       `'max_checks_reached', -1, '[]', now()`,
		"vf_final":     `'approved', 4, '[]', null`,
		"vf_pending":   `'pending', 5, '[]', now()`,
		"vf_untouched": `'pending', 5, '[{"channel": "whatsapp", "status": "sending"}]', null`,
	}
	for id, vals := range rows {
		if _, err := s.pool.Exec(ctx, `insert into verifications (id, tenant_id, mode, kind, status, checks_left, attempts, completed_at, created_at, expires_at)
			values ($1, 't1', 'test', 'signup', `+vals+`, now(), now())`, id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	migrateTo(ctx, t, s, 6)
	want := map[string]string{
		"vf_null": `[]`, "vf_obj": `[]`, "vf_mixed": `[{"status": "sent", "channel": "sms"}]`,
		"vf_untouched": `[{"status": "sending", "channel": "whatsapp"}]`,
	}
	for id, w := range want {
		var got string
		if err := s.pool.QueryRow(ctx, `select attempts::text from verifications where id = $1`, id).Scan(&got); err != nil || got != w {
			t.Errorf("%s attempts %s (%v), want %s", id, got, err, w)
		}
	}
	var bad int
	if err := s.pool.QueryRow(ctx, `select count(*) from verifications where checks_left < 0
		or (status = 'pending') <> (completed_at is null)`).Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("%d rows still break an invariant (%v)", bad, err)
	}
	if _, err := s.pool.Exec(ctx, `update verifications set attempts = 'null' where id = 'vf_null'`); !isCheckViolation(err) {
		t.Fatalf("constraint after repair: %v", err)
	}
}

func migrateTo(ctx context.Context, t *testing.T, s *Store, version int32) {
	t.Helper()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), "schema_version")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		t.Fatal(err)
	}
	if err := m.MigrateTo(ctx, version); err != nil {
		t.Fatalf("migrate to %d: %v", version, err)
	}
}

func isCheckViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23514"
}

// TestRecordKeepsInvariantsWhateverTheState: a final state without
// CompletedAt, or with negative checks left, still projects (completed_at
// set, checks_left 0), and a pending one clears completed_at.
func TestRecordKeepsInvariantsWhateverTheState(t *testing.T) {
	s := openLimits(t)
	ctx := t.Context()
	seedVerification(t, s, "t1", "vf_norm")
	for i, st := range []contract.State{
		{Status: contract.StatusPending, ChecksLeft: -2},
		{Status: contract.StatusFailed, ChecksLeft: 5},
	} {
		st.Version = int64(i + 1)
		if _, err := s.Record(ctx, contract.RecordInput{VerificationID: "vf_norm", TenantID: "t1", State: st}, nil); err != nil {
			t.Fatalf("record %+v: %v", st, err)
		}
		v, err := s.GetVerification(ctx, "t1", "vf_norm")
		if err != nil || v.ChecksLeft < 0 || (v.CompletedAt != nil) != st.Status.Final() {
			t.Fatalf("after %+v: %+v %v", st, v, err)
		}
	}
}
