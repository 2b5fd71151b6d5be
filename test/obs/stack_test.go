package obs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/client"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/devstack"
	"github.com/veriflow/veriflow/internal/localpg"
)

// TestQueriesUseExportedMetrics runs the real local stack (Temporal dev
// server, Postgres, worker and API in this process), drives verifications
// through it — an approval after a WhatsApp→SMS failover, a wrong code, a
// cancel, a verification that fails on every channel — then scrapes
// /metrics until every metric a dashboard panel or an alert rule names is
// there, and fails naming the queries whose metrics never show.
func TestQueriesUseExportedMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and PostgreSQL")
	}
	queries := append(dashboardQueries(t), alertQueries(t)...)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	s, err := devstack.Start(ctx, devstack.Options{
		Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	switch {
	case errors.Is(err, localpg.ErrNoBinaries) && os.Getenv("VERIFLOW_REQUIRE_POSTGRES") != "1",
		errors.Is(err, devstack.ErrNoTemporalCLI) && os.Getenv("VERIFLOW_REQUIRE_TEMPORAL") != "1":
		t.Skip(err)
	case err != nil:
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	key, err := s.CreateKey(ctx, "obs", contract.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(s.URL, key, nil)

	// +15005550001: WhatsApp fails (not a WhatsApp user), SMS delivered;
	// a wrong code, then the right one.
	v := start(ctx, t, c, "two_factor", "+15005550001")
	code := sandboxCode(ctx, t, c, "+15005550001", v.ID)
	if _, err := c.Check(ctx, v.ID, client.CheckRequest{Code: wrong(code)}); err != nil {
		t.Fatalf("wrong check: %v", err)
	}
	if got, err := c.Check(ctx, v.ID, client.CheckRequest{Code: code}); err != nil || got.Status != "approved" {
		t.Fatalf("check: %+v %v", got, err)
	}
	// Canceled, and failed on every channel.
	canceled := start(ctx, t, c, "signup", "+15005550000")
	if _, err := c.Cancel(ctx, canceled.ID); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	failed := start(ctx, t, c, "signup", "+15005550003")
	waitFor(ctx, t, "the all-channels-fail verification to fail", func() bool {
		got, err := c.Get(ctx, failed.ID)
		return err == nil && got.Status == "failed"
	})

	// Live starts to one block of numbers, never approved: the fraud
	// engine allows its floor's worth, then challenges (its metrics).
	live, err := s.CreateKey(ctx, "obs", contract.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	lc := client.New(s.URL, live, nil)
	for i := range 8 {
		start(ctx, t, lc, "two_factor", fmt.Sprintf("+4474005000%02d", i))
	}

	// The SDK's metrics are flushed into the registry every second, and the
	// verifications' projections land shortly after the answers: wait until
	// every referenced name shows or the deadline passes.
	// Equality matchers must also name label values the scrape shows (a
	// route typo would select nothing).
	var bad, badValues map[string][]string
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for {
		body = scrape(ctx, t, s.URL+"/metrics")
		bad, badValues = unknownMetrics(queries, exposedNames(body)), unknownLabelValues(queries, body)
		if len(bad)+len(badValues) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for where, names := range bad {
		t.Errorf("%s: names metrics Veriflow does not export: %v", where, names)
	}
	for where, m := range badValues {
		t.Errorf("%s: matches label values no series has: %v", where, m)
	}
	t.Logf("%d queries checked against %d exported metric names", len(queries), len(exposedNames(body)))

	// The same check on the same scrape reports a bogus metric.
	if got := unknownMetrics([]query{{"bogus", `sum(rate(veriflow_bogus_total[5m])) / sum(rate(veriflow_sends_total[5m]))`}}, exposedNames(body)); !slices.Equal(got["bogus"], []string{"veriflow_bogus_total"}) {
		t.Errorf("a bogus metric was not reported: %v", got)
	}
	if strings.Contains(body, "+15005550001") {
		t.Error("/metrics holds a destination")
	}
}

func start(ctx context.Context, t *testing.T, c *client.Client, kind, phone string) client.Verification {
	t.Helper()
	v, _, err := c.Start(ctx, client.StartRequest{Kind: kind, To: client.Destinations{Phone: phone}})
	if err != nil {
		t.Fatalf("start %s: %v", kind, err)
	}
	return v
}

// sandboxCode waits for the verification's code in the sandbox (the
// sandbox keeps it only after the send).
func sandboxCode(ctx context.Context, t *testing.T, c *client.Client, to, id string) string {
	t.Helper()
	var code string
	waitFor(ctx, t, "the code in the sandbox", func() bool {
		msgs, err := c.SandboxMessages(ctx, to)
		if err != nil {
			return false
		}
		for _, m := range msgs {
			if m.VerificationID == id && m.Code != "" {
				code = m.Code
				return true
			}
		}
		return false
	})
	return code
}

// wrong returns a code of the same length that differs from code.
func wrong(code string) string {
	b := []byte(code)
	for i := range b {
		b[i] = '0' + (b[i]-'0'+1)%10
	}
	return string(b)
}

// waitFor polls cond until it holds, failing after 20 s.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func scrape(ctx context.Context, t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %v", res.StatusCode, err)
	}
	return string(b)
}
