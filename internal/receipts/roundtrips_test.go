package receipts

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/localpg"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/store/storetest"
)

// statementCounter counts the statements a pool sends, by their first
// words, while on.
type statementCounter struct {
	mu  sync.Mutex
	on  bool
	sql []string
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.on {
		c.sql = append(c.sql, strings.Join(strings.Fields(d.SQL), " "))
	}
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// count runs f and returns the statements it sent.
func (c *statementCounter) count(f func()) []string {
	c.mu.Lock()
	c.on, c.sql = true, nil
	c.mu.Unlock()
	f()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	return c.sql
}

// TestIngestStatements counts the database statements of the receipts
// inbox on a real Postgres (each is one round trip): a receipt of a
// registered message costs one statement (informational) or two (stored
// with its owner, then marked applied after its signal); a duplicate one; a
// receipt that raced the send two (stored, then its owner looked up again),
// and its message's ApplyPending two (the pending receipts, one mark).
func TestIngestStatements(t *testing.T) {
	ctx := t.Context()
	url := localpg.ForTest(t)
	storetest.OpenURL(t, url) // migrates
	ctr := &statementCounter{}
	st, err := store.OpenTraced(ctx, url, ctr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.EnsureTenant(ctx, "acme", "acme"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, _, err := st.InsertVerification(ctx, store.StartRequest{Verification: store.Verification{ID: "vf_1", TenantID: "acme",
		Mode: contract.ModeTest, Kind: contract.KindSignup, Status: contract.StatusPending, ChecksLeft: 5,
		CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	register := func(msg string) {
		t.Helper()
		if err := st.RegisterMessage(ctx, store.Message{Provider: "p", ProviderMessageID: msg, VerificationID: "vf_1",
			TenantID: "acme", Seq: 1, Channel: contract.ChannelSMS}); err != nil {
			t.Fatal(err)
		}
	}
	sig := &fakeSignaler{}
	svc := New(st, sig, slog.New(slog.DiscardHandler))
	ingest := func(msg string, status contract.AttemptStatus) []string {
		t.Helper()
		return ctr.count(func() {
			if err := svc.Ingest(ctx, contract.Receipt{Provider: "p", MessageID: msg, Status: status, OccurredAt: now}); err != nil {
				t.Fatal(err)
			}
		})
	}
	check := func(name string, got []string, want int) {
		t.Helper()
		t.Logf("%s: %d statements", name, len(got))
		if len(got) != want {
			t.Errorf("%s: %d statements, want %d:\n%s", name, len(got), want, strings.Join(got, "\n"))
		}
	}

	register("m1")
	check("registered, sent", ingest("m1", contract.AttemptSent), 1)
	check("registered, delivered", ingest("m1", contract.AttemptDelivered), 2)
	check("registered, read", ingest("m1", contract.AttemptRead), 2)
	check("duplicate", ingest("m1", contract.AttemptDelivered), 1)

	// The sandbox's order: receipts stored before the send registers.
	check("early, sent", ingest("m2", contract.AttemptSent), 2)
	check("early, delivered", ingest("m2", contract.AttemptDelivered), 2)
	register("m2")
	check("apply pending (2 receipts)", ctr.count(func() {
		if err := svc.ApplyPending(ctx, "p", "m2", "vf_1", "acme"); err != nil {
			t.Fatal(err)
		}
	}), 2)
	if len(sig.statuses) != 3 {
		t.Fatalf("signalled %v, want delivered, read, delivered", sig.statuses)
	}
	for _, m := range []string{"m1", "m2"} {
		if left, err := st.UnappliedReceipts(ctx, "p", m); err != nil || len(left) != 0 {
			t.Fatalf("%s: unapplied %+v %v", m, left, err)
		}
	}
}
