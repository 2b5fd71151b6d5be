package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/devstack"
	"github.com/veriflow/veriflow/internal/localpg"
)

// prodScenarios cover every sandbox script and every kind, with wrong
// checks, cancels, e-mail, bound codes, and live verifications through the
// real Twilio and Meta adapters to the fake endpoints.
var prodScenarios = []scenario{
	{name: "0000 signup approve", phone: "+15005550000", action: "approve", channel: "whatsapp", expect: "approved"},
	{name: "0001 signature wa fails, sms approve", phone: "+15005550001", action: "approve", channel: "sms", expect: "approved", kind: "signature",
		bind: map[string]any{"document": map[string]string{"sha256": strings.Repeat("ab", 32), "title": "Contratto chaos"}}},
	{name: "0002 wa silent 5s, sms approve", phone: "+15005550002", action: "approve", channel: "sms", timeout: 5, expect: "approved", kind: "two_factor"},
	{name: "0003 every channel fails", phone: "+15005550003", action: "none", expect: "failed"},
	{name: "0000 cancel", phone: "+15005550000", action: "cancel", expect: "canceled", kind: "two_factor"},
	{name: "0004 transaction wrong then right", phone: "+15005550004", action: "approve", channel: "whatsapp", expect: "approved", kind: "transaction",
		wrongFirst: true, bind: map[string]any{"transaction": map[string]string{"amount": "149.90", "currency": "EUR", "payee": "ACME S.p.A."}}},
	{name: "0005 wa never read, approve", phone: "+15005550005", action: "approve", channel: "whatsapp", expect: "approved"},
	{name: "0007 password_reset sms approve", phone: "+15005550007", action: "approve", channel: "sms", expect: "approved", kind: "password_reset"},
	{name: "email signup approve", email: "chaos@example.com", action: "approve", channel: "email", expect: "approved", wrongFirst: true},
	{name: "live wa fails, twilio sms approve", action: "approve", channel: "sms", expect: "approved", kind: "transaction", live: "wa_fail",
		bind: map[string]any{"transaction": map[string]string{"amount": "9.99", "currency": "EUR", "payee": "Chaos Shop"}}},
	{name: "live meta wa approve", action: "approve", channel: "whatsapp", expect: "approved", live: "wa_ok", wrongFirst: true},
	{name: "live cancel", action: "cancel", expect: "canceled", live: "wa_ok"},
}

// fault is one injected fault: when it began and when the component was
// back.
type fault struct {
	what       string
	start, end time.Time
}

// temporalOnPG runs scripts/temporal-on-postgres.sh (the Temporal server on
// the harness' Postgres) in its own process group; kill is kill -9 of the
// group (the script and the server), start runs the script again.
type temporalOnPG struct {
	script, log string
	env         []string
	mu          sync.Mutex
	cmd         *exec.Cmd
	done        chan struct{}
}

func (tp *temporalOnPG) start(ctx context.Context) error {
	lf, err := os.OpenFile(tp.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = lf.Close() }()
	before, _ := os.ReadFile(tp.log)
	readyBefore := strings.Count(string(before), "==> ready")
	cmd := exec.Command("bash", tp.script)
	cmd.Env, cmd.Stdout, cmd.Stderr = tp.env, lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("temporal-on-postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	tp.mu.Lock()
	tp.cmd, tp.done = cmd, done
	tp.mu.Unlock()
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(tp.log)
		if strings.Count(string(b), "==> ready") > readyBefore {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("temporal-on-postgres exited before ready; see %s", tp.log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("temporal-on-postgres not ready after 4m; see %s", tp.log)
}

// kill sends SIGKILL to the script's process group (the server with it).
func (tp *temporalOnPG) kill() {
	tp.mu.Lock()
	cmd, done := tp.cmd, tp.done
	tp.cmd = nil
	tp.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// TestChaosProd is the chaos test on the production topology: the Temporal
// server on Postgres (scripts/temporal-on-postgres.sh), two API and two
// worker processes of the real binary, the load spread over both APIs,
// and rounds of faults: kill -9 of a random API, a random worker and the
// Temporal server, a Postgres stop and start; the first signal of every
// receipt is dropped throughout, so only the receipt relay delivers them.
func TestChaosProd(t *testing.T) {
	if os.Getenv("VERIFLOW_CHAOS") != "1" {
		t.Skip("chaos test: set VERIFLOW_CHAOS=1 (make chaos)")
	}
	n := envInt(t, "VERIFLOW_CHAOS_N", 1000)
	rounds := envInt(t, "VERIFLOW_CHAOS_ROUNDS", 3)
	window := time.Duration(envInt(t, "VERIFLOW_CHAOS_WINDOW_SECONDS", 10)) * time.Second
	spreadPer := time.Duration(envInt(t, "VERIFLOW_CHAOS_SPREAD_SECONDS", 60)) * time.Second
	began := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	dir, err := os.MkdirTemp("", "veriflow-chaos-prod-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("VERIFLOW_CHAOS_KEEP") != "" {
			t.Logf("logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	t.Logf("chaos (production topology): N=%d rounds=%d, logs in %s", n, rounds, dir)

	bin := os.Getenv("VERIFLOW_CHAOS_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "veriflow")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/veriflow/veriflow/cmd/veriflow").CombinedOutput(); err != nil {
			t.Fatalf("build veriflow: %v\n%s", err, out)
		}
	}

	// One Postgres cluster: Veriflow's database, and Temporal's two.
	pg, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() {
		if err := pg.Stop(); err != nil {
			t.Logf("stop postgres: %v", err)
		}
	})
	pgURL, err := url.Parse(pg.URL())
	if err != nil {
		t.Fatal(err)
	}

	// The Temporal server on it.
	tport, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	taddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(tport))
	script, err := filepath.Abs("../../scripts/temporal-on-postgres.sh")
	if err != nil {
		t.Fatal(err)
	}
	tp := &temporalOnPG{script: script, log: filepath.Join(dir, "temporal.log"),
		env: append(baseEnv(), "TEMPORAL_PORT="+strconv.Itoa(tport), "PG_HOST=127.0.0.1", "PG_PORT="+pgURL.Port(),
			"PG_USER=postgres", "PG_PASSWORD=", "TEMPORAL_PG_STATE="+filepath.Join(dir, "temporal-state"), "READY_TIMEOUT=300")}
	t0 := time.Now()
	if err := tp.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tp.kill)
	t.Logf("temporal on postgres ready in %s", time.Since(t0).Round(time.Millisecond))

	// The fake provider endpoints.
	fakes, err := newFakeProviders(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}

	// Configuration shared by every veriflow process.
	var apiAddrs, bases []string
	for range 2 {
		p, err := devstack.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		a := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		apiAddrs, bases = append(apiAddrs, a), append(bases, "http://"+a)
	}
	fakes.apiBases, fakes.publicBase = bases, bases[0]
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	cfgFile := filepath.Join(dir, "config.json")
	const lifted = `{"per_destination_10min": 100000, "per_destination_day": 100000, "per_client_ip_10min": 100000, "per_tenant_minute": 1000000, "failed_checks_per_destination_hour": 100000, "prefix_burst": 100000}`
	cfg := `{"tenants": {"chaos": {"limits": ` + lifted + `}, "initech": {"limits": ` + lifted + `, "channels": {"whatsapp": "meta", "sms": "twilio"}}}}`
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(baseEnv(), "DATABASE_URL="+pg.URL(), "TEMPORAL_ADDRESS="+taddr,
		"VERIFLOW_CODE_SECRET="+hex.EncodeToString(secret), "VERIFLOW_LOG_FORMAT=json", "VERIFLOW_CONFIG_FILE="+cfgFile,
		"VERIFLOW_FRAUD_MODE=shadow", "VERIFLOW_PUBLIC_BASE_URL="+bases[0], "VERIFLOW_TEST_DROP_FIRST_RECEIPT_SIGNAL=1",
		"TWILIO_ACCOUNT_SID="+fakeTwilioSID, "TWILIO_AUTH_TOKEN="+fakeTwilioToken, "TWILIO_FROM=+15005550006",
		"META_PHONE_NUMBER_ID=1234567890", "META_ACCESS_TOKEN=EAAchaostoken", "META_APP_SECRET="+fakeMetaSecret,
		"META_VERIFY_TOKEN=chaos-verify", "META_TEMPLATE_NAME=veriflow_code", "META_BASE_URL="+fakes.meta.URL,
		// Twilio's API (HTTPS) is reached through the fakes' proxy, whose
		// certificate only these processes trust. Loopback is never proxied.
		"HTTPS_PROXY="+fakes.proxyURL, "SSL_CERT_FILE="+fakes.caFile)
	for _, k := range []struct{ cmd, name string }{{"evidence", "VERIFLOW_EVIDENCE_KEYS="}, {"codec", "VERIFLOW_PAYLOAD_KEYS="}} {
		out, err := runOnce(ctx, bin, env, k.cmd, "keygen")
		if err != nil {
			t.Fatal(err)
		}
		v, err := lineValue(out, k.name)
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, k.name+v)
	}
	if _, err := runOnce(ctx, bin, env, "migrate"); err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, tm := range []struct{ tenant, mode string }{{"chaos", "test"}, {"initech", "live"}} {
		out, err := runOnce(ctx, bin, env, "apikey", "create", "--tenant", tm.tenant, "--mode", tm.mode)
		if err != nil {
			t.Fatal(err)
		}
		if keys[tm.tenant], err = lineValue(out, "api key:"); err != nil {
			t.Fatal(err)
		}
	}
	recv := newReceiver()
	t.Cleanup(recv.server.Close)
	for _, tenant := range []string{"chaos", "initech"} {
		out, err := runOnce(ctx, bin, env, "tenant", "set-callback", "--tenant", tenant, "--url", recv.server.URL+"/veriflow")
		if err != nil {
			t.Fatal(err)
		}
		s, err := lineValue(out, "secret:")
		if err != nil {
			t.Fatal(err)
		}
		recv.addSecret(s)
	}

	newProc := func(name, cmd string, extra ...string) *proc {
		f, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		p := &proc{t: t, name: name, bin: bin, args: []string{cmd}, env: append(slices.Clip(env), extra...), logf: f}
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.stop)
		return p
	}
	workers := []*proc{newProc("worker1", "worker"), newProc("worker2", "worker")}
	apis := []*proc{newProc("api1", "api", "VERIFLOW_HTTP_ADDR="+apiAddrs[0]), newProc("api2", "api", "VERIFLOW_HTTP_ADDR="+apiAddrs[1])}
	for _, b := range bases {
		if err := devstack.WaitHTTP(ctx, b+"/healthz", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	sandboxClient := newAPIClient(keys["chaos"], bases...)
	liveClient := newAPIClient(keys["initech"], bases...)
	t.Logf("stack ready in %s", time.Since(began).Round(time.Millisecond))

	// The load.
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	runID := strings.ToLower(rand.Text()[:8])
	spread := time.Duration(rounds) * spreadPer
	// The last fifth of the load starts only once the faults are over and
	// a window has passed: the verifications that see no crash, for the
	// figures "without a crash" and the start latency outside the windows.
	calmFrom := n - n/5
	faultsOver := make(chan struct{})
	flights := make([]*flight, n)
	var wg sync.WaitGroup
	for i := range n {
		f := &flight{idx: i, sc: prodScenarios[i%len(prodScenarios)]}
		c := sandboxClient
		switch {
		case f.sc.live != "":
			c = liveClient
			phone := fmt.Sprintf("+39333%07d", 1000000+i)
			fakes.setPlan(phone, f.sc.live)
			f.to = map[string]string{"phone": phone}
			f.code = func(_ context.Context, ch string) (string, error) { return fakes.code(phone, ch), nil }
		case f.sc.email != "":
			addr := fmt.Sprintf("chaos+%d@example.com", i)
			f.to = map[string]string{"email": addr}
			f.code = func(ctx context.Context, ch string) (string, error) { return c.sandboxCode(ctx, addr, f.id, ch) }
		default:
			f.to = map[string]string{"phone": f.sc.phone}
			f.code = func(ctx context.Context, ch string) (string, error) { return c.sandboxCode(ctx, f.sc.phone, f.id, ch) }
		}
		flights[i] = f
		delay := spread * time.Duration(i) / time.Duration(calmFrom)
		calm := i >= calmFrom
		if calm {
			delay = window + 30*time.Second*time.Duration(i-calmFrom)/time.Duration(max(n-calmFrom, 1))
		}
		wg.Go(func() {
			if calm {
				select {
				case <-faultsOver:
				case <-loadCtx.Done():
				}
			}
			if !sleepCtx(loadCtx, delay) {
				f.note("never started: %v", loadCtx.Err())
				return
			}
			drive(loadCtx, c, f, runID)
		})
	}
	loadDone := make(chan struct{})
	go func() { wg.Wait(); close(loadDone) }()

	// The faults.
	var faults []fault
	var faultLog []string
	logFault := func(fl fault) {
		faults = append(faults, fl)
		s := fmt.Sprintf("%6s  %s, back after %s", fl.start.Sub(began).Round(time.Second), fl.what, fl.end.Sub(fl.start).Round(time.Millisecond))
		faultLog = append(faultLog, s)
		t.Log("fault: " + s)
	}
	gap := func() time.Duration { return 4*time.Second + mrand.N(4*time.Second) }
	down := func() time.Duration { return 2*time.Second + mrand.N(3*time.Second) }
	pgRestarts, temporalKills := 0, 0
	for r := range rounds {
		sleepCtx(ctx, gap())
		i := mrand.N(len(workers))
		st := time.Now()
		workers[i].kill()
		sleepCtx(ctx, down())
		if err := workers[i].start(); err != nil {
			t.Fatal(err)
		}
		logFault(fault{what: fmt.Sprintf("round %d: kill -9 %s", r+1, workers[i].name), start: st, end: time.Now()})

		sleepCtx(ctx, gap())
		i = mrand.N(len(apis))
		st = time.Now()
		apis[i].kill()
		sleepCtx(ctx, down())
		if err := apis[i].start(); err != nil {
			t.Fatal(err)
		}
		if err := devstack.WaitHTTP(ctx, bases[i]+"/healthz", time.Minute); err != nil {
			t.Errorf("%s after restart: %v", apis[i].name, err)
		}
		logFault(fault{what: fmt.Sprintf("round %d: kill -9 %s", r+1, apis[i].name), start: st, end: time.Now()})

		sleepCtx(ctx, gap())
		st = time.Now()
		tp.kill()
		temporalKills++
		sleepCtx(ctx, down())
		// Under load the script's readiness (a probe workflow started and
		// terminated) can take minutes while the server catches up: a
		// failed start is tried again, twice.
		for attempt := 1; ; attempt++ {
			err := tp.start(ctx)
			if err == nil {
				break
			}
			if attempt == 3 {
				t.Fatalf("temporal does not come back: %v", err)
			}
			t.Logf("temporal restart attempt %d: %v", attempt, err)
			tp.kill()
		}
		logFault(fault{what: fmt.Sprintf("round %d: kill -9 temporal server (and restart through the script)", r+1), start: st, end: time.Now()})

		sleepCtx(ctx, gap())
		st = time.Now()
		if err := pg.StopServer(); err != nil {
			t.Fatalf("stop postgres: %v", err)
		}
		sleepCtx(ctx, down())
		if err := pg.StartServer(ctx); err != nil {
			t.Fatalf("start postgres: %v", err)
		}
		pgRestarts++
		logFault(fault{what: fmt.Sprintf("round %d: postgres stop -m fast (SIGINT) and start", r+1), start: st, end: time.Now()})
	}
	faultsDone := time.Now()
	close(faultsOver)
	t.Logf("faults done after %s; settling (at most %s)", faultsDone.Sub(began).Round(time.Second), settleTimeout)
	settled := settle(t, loadDone, stopLoad, faultsDone)
	conn, rc := settledReceipts(ctx, t, pg.URL())
	dup, err := sendFigures(ctx, conn, filepath.Join(dir, "worker1.log"), filepath.Join(dir, "worker2.log"))
	if err != nil {
		t.Fatalf("sends: %v", err)
	}
	ev, err := recv.events(ctx, conn, eventTimeout)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	fakes.close()
	// Receipts of messages never registered: a provider answer whose
	// registration was lost with a crash (listed for the record).
	var unknown []string
	if rows, err := conn.Query(ctx, `select r.provider || ' ' || r.status || ' ' || r.provider_message_id || ' received ' || to_char(r.received_at, 'HH24:MI:SS.MS')
		from receipts r where r.applied_at is null and not exists (select 1 from messages m where m.provider = r.provider and m.provider_message_id = r.provider_message_id)
		order by r.received_at limit 20`); err == nil {
		unknown, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Logf("receipts of unknown messages: %v", err)
		}
	}

	// Duplicate sends at the fake endpoints: requests beyond one per
	// (destination, channel) — one attempt each. A duplicate is "without a
	// crash" when its verification lived entirely outside every fault's
	// window.
	inWindow := func(a, b time.Time) bool {
		for _, fl := range faults {
			if a.Before(fl.end.Add(window)) && b.After(fl.start.Add(-window)) {
				return true
			}
		}
		return false
	}
	byPhone := map[string]*flight{}
	for _, f := range flights {
		if f.sc.live != "" {
			byPhone[digits(f.to["phone"])] = f
		}
	}
	liveReqs, liveAttempts, liveDup, liveDupCalm, calmLive := 0, 0, 0, 0, 0
	for k, reqs := range fakes.requests() {
		liveReqs += len(reqs)
		liveAttempts++
		d := len(reqs) - 1
		liveDup += d
		ph, _, _ := strings.Cut(k, "|")
		if f := byPhone[ph]; f != nil && d > 0 && !inWindow(f.startAt, orNow(f.doneAt)) {
			liveDupCalm += d
		}
	}
	for _, f := range flights {
		if f.sc.live != "" && !f.doneAt.IsZero() && !inWindow(f.startAt, f.doneAt) {
			calmLive++
		}
	}
	// The ledger's promise: every message that may have gone twice is
	// counted, so the live tenant's duplicates stay within its uncertain
	// sends. (The driver never asks for a resend and no plan repeats a
	// channel, so requests per (destination, channel) beyond one are
	// requests of one attempt, or of a second verification for the same
	// destination — both duplicates to the person.)
	var liveUncertain int
	if err := conn.QueryRow(ctx, `select count(*) from events where type = 'send_uncertain' and tenant_id = 'initech'`).Scan(&liveUncertain); err != nil {
		t.Fatalf("live send_uncertain: %v", err)
	}

	// The final states as Postgres holds them at the end: a state the
	// driver saw as final may have changed since (a verification seen
	// "approved" that later expired is a durability failure).
	changed := 0
	if rows, err := conn.Query(ctx, `select id, status from verifications`); err != nil {
		t.Fatalf("final states: %v", err)
	} else {
		states := map[string]string{}
		for rows.Next() {
			var id, st string
			if err := rows.Scan(&id, &st); err != nil {
				t.Fatalf("final states: %v", err)
			}
			states[id] = st
		}
		rows.Close()
		for _, f := range flights {
			if st, ok := states[f.id]; ok && f.id != "" && st != f.final {
				if f.final != "" && f.final != "pending" {
					changed++
					f.note("seen %s by the driver, %s at the end", f.final, st)
				}
				f.final = st
			}
		}
	}

	// Start latency outside the crash windows.
	var calmLat, allLat []time.Duration
	for _, f := range flights {
		if f.id == "" {
			continue
		}
		allLat = append(allLat, f.startDur)
		if !inWindow(f.startAt, f.startAt.Add(f.startDur)) {
			calmLat = append(calmLat, f.startDur)
		}
	}

	// Figures.
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...any) {
		for _, c := range cells {
			fmt.Fprintf(tw, "%v\t", c)
		}
		fmt.Fprintln(tw)
	}
	byScenario := map[string][2]int{}
	var started, inState, refused, wrongApproved int
	var lost []*flight
	for _, f := range flights {
		refused += f.refused
		wrongApproved += f.wrongApproved
		c := byScenario[f.sc.name]
		c[0]++
		if f.id != "" {
			started++
		}
		if f.final == f.sc.expect {
			c[1]++
			inState++
		} else {
			lost = append(lost, f)
		}
		byScenario[f.sc.name] = c
	}
	var wKills, aKills int
	var unexp []string
	for _, p := range append(slices.Clone(workers), apis...) {
		_, k, u := p.figures()
		if strings.HasPrefix(p.name, "worker") {
			wKills += k
		} else {
			aKills += k
		}
		unexp = append(unexp, u...)
	}
	crashes := wKills + aKills + temporalKills + pgRestarts
	row("CHAOS FIGURES (production topology)", "")
	row("duration", time.Since(began).Round(time.Second))
	row("settle after last fault", settled.Round(time.Second))
	row("verifications in expected final state", fmt.Sprintf("%d/%d", inState, n))
	row("started (got an id)", started)
	for _, sc := range prodScenarios {
		c := byScenario[sc.name]
		row("  "+sc.name+" → "+sc.expect, fmt.Sprintf("%d/%d", c[1], c[0]))
	}
	row("final states changed after the driver saw them final", changed)
	row("right codes refused", refused)
	row("wrong codes approved", wrongApproved)
	row("receipts stored / applied", fmt.Sprintf("%d / %d", rc.total, rc.applied))
	row("receipts lost (unapplied, message known)", rc.unappliedKnown)
	row("receipts unapplied, message unknown", rc.unappliedUnknown)
	row("provider webhooks accepted / never accepted", fmt.Sprintf("%d / %d", fakes.posted.Load(), fakes.lost.Load()))
	row("events queued / delivered / pending", fmt.Sprintf("%d / %d / %d", ev.queued, ev.delivered, ev.pending))
	row("events lost (never received)", ev.lost)
	row("duplicate event deliveries", ev.received-ev.distinct)
	row("live sends at the fakes: attempts / requests", fmt.Sprintf("%d / %d", liveAttempts, liveReqs))
	row("duplicate sends (fake endpoints, Twilio+Meta)", liveDup)
	row("duplicate sends per crash", fmt.Sprintf("%.3f (%d crashes)", float64(liveDup)/float64(max(crashes, 1)), crashes))
	row("duplicate sends without a crash", fmt.Sprintf("%d (of %d live verifications outside every ±%s window)", liveDupCalm, calmLive, window))
	row("sandbox: provider sends logged / distinct / max per attempt", fmt.Sprintf("%d / %d / %d", dup.sendLines, dup.distinct, dup.maxPerAttempt))
	row("send_uncertain (audit) / per worker kill", fmt.Sprintf("%d / %.2f", dup.uncertain, float64(dup.uncertain)/float64(max(wKills, 1))))
	row("send_uncertain of the live tenant (bounds its duplicate sends)", liveUncertain)
	row("sends refused: verification not stored (start given up)", dup.notStored)
	row("start latency p50 / p99 (all starts)", fmt.Sprintf("%s / %s (%d)", pct(allLat, 50), pct(allLat, 99), len(allLat)))
	row(fmt.Sprintf("start latency p50 / p99 outside crash windows (±%s)", window), fmt.Sprintf("%s / %s (%d)", pct(calmLat, 50), pct(calmLat, 99), len(calmLat)))
	row("crashes: worker / api / temporal kill -9, postgres restarts", fmt.Sprintf("%d / %d / %d / %d", wKills, aKills, temporalKills, pgRestarts))
	row("unexpected exits", len(unexp))
	row("http calls / retried / sent to the other API", fmt.Sprintf("%d / %d / %d",
		sandboxClient.calls.Load()+liveClient.calls.Load(), sandboxClient.retries.Load()+liveClient.retries.Load(),
		sandboxClient.failovers.Load()+liveClient.failovers.Load()))
	_ = tw.Flush()
	for i, f := range lost {
		if i == 30 {
			fmt.Fprintf(&b, "… %d more\n", len(lost)-30)
			break
		}
		fmt.Fprintf(&b, "LOST #%d %s (%s): state %q, want %q; %s\n", f.idx, f.id, f.sc.name, f.final, f.sc.expect, strings.Join(f.notes, "; "))
	}
	for _, s := range rc.samples {
		fmt.Fprintf(&b, "UNAPPLIED RECEIPT %s\n", s)
	}
	for _, s := range unknown {
		fmt.Fprintf(&b, "RECEIPT OF AN UNKNOWN MESSAGE %s\n", s)
	}
	for _, s := range unexp {
		fmt.Fprintf(&b, "UNEXPECTED EXIT %s\n", s)
	}
	b.WriteString("faults:\n  " + strings.Join(faultLog, "\n  ") + "\n")
	fmt.Print(b.String())

	var suspects []string
	for _, f := range flights {
		if f.id != "" && (f.final != f.sc.expect || f.refused > 0 || f.wrongApproved > 0 || slices.ContainsFunc(f.notes, func(s string) bool { return strings.HasPrefix(s, "seen ") })) {
			suspects = append(suspects, f.id)
		}
	}
	if len(suspects) > 0 {
		if err := dumpHistories(ctx, taddr, dir, suspects); err != nil {
			t.Logf("histories: %v", err)
		} else {
			t.Logf("histories of %d verifications in %s", len(suspects), filepath.Join(dir, "histories"))
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d verifications not in their expected final state", len(lost), n)
	}
	if changed > 0 {
		t.Errorf("%d verifications changed their final state after it was seen", changed)
	}
	if refused > 0 || wrongApproved > 0 {
		t.Errorf("%d right codes refused, %d wrong codes approved", refused, wrongApproved)
	}
	if ev.lost > 0 || ev.pending > 0 || recv.bad.Load() > 0 || ev.queued == 0 {
		t.Errorf("events: %d queued, %d lost, %d pending, %d with a bad signature", ev.queued, ev.lost, ev.pending, recv.bad.Load())
	}
	if rc.unappliedKnown > 0 || fakes.lost.Load() > 0 {
		t.Errorf("receipts: %d of known messages unapplied, %d webhooks never accepted", rc.unappliedKnown, fakes.lost.Load())
	}
	if rc.applied == 0 {
		t.Error("no receipt applied: the relay never delivered")
	}
	if liveAttempts == 0 {
		t.Error("no request reached the fake Twilio and Meta endpoints")
	}
	if liveDup > crashes || liveDupCalm > 0 {
		t.Errorf("duplicate sends: %d for %d crashes (goal ≤ 1 per crash), %d without a crash (goal 0)", liveDup, crashes, liveDupCalm)
	}
	if liveDup > liveUncertain {
		t.Errorf("duplicate sends: %d at the fakes, %d counted as send_uncertain (goal: duplicates ≤ uncertain)", liveDup, liveUncertain)
	}
	if dup.dupAttempts > 0 {
		t.Errorf("%d attempts registered more than one message", dup.dupAttempts)
	}
}

// orNow returns t, or now when t is zero (a verification never final).
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// pct returns the p-th percentile of ds (nearest rank), "-" when empty.
func pct(ds []time.Duration, p int) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)].Round(time.Millisecond).String()
}
