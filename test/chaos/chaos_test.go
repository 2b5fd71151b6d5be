package chaos

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"net"
	"net/http"
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

// Knobs and fixed durations of the run.
const (
	pgPause        = 20 * time.Second // how long Postgres stays SIGSTOPped
	settleTimeout  = 10 * time.Minute // bound on "every verification final" after the faults
	eventTimeout   = 5 * time.Minute  // bound on "no event pending" after that
	receiptTimeout = 2 * time.Minute  // bound on "every known receipt applied" after that
	roundSpread    = 50 * time.Second // the starts are spread over about this much time per round
	thinkTime      = 20 * time.Second // a verification waits up to this long before its check or cancel
)

// scenario is what a verification does and the final state its sandbox
// script implies.
type scenario struct {
	name    string
	phone   string
	action  string // approve, cancel, none
	channel string // approve: the channel whose message carries the code the test types
	timeout int    // channel_timeout_seconds, 0 for the default
	expect  string
	// kind is the verification kind ("" is signup); bind is what the start
	// and every check carry besides (a transaction or a document).
	kind string
	bind map[string]any
	// email sends to an e-mail address instead of phone.
	email string
	// wrongFirst types a wrong code before the right one.
	wrongFirst bool
	// live routes the verification through the real Twilio and Meta
	// adapters to the fake endpoints ("wa_fail": WhatsApp fails over to
	// SMS; "wa_ok": WhatsApp delivered), to a destination of its own.
	live string
}

var scenarios = []scenario{
	{name: "0000 approve", phone: "+15005550000", action: "approve", channel: "whatsapp", expect: "approved"},
	{name: "0001 wa fails, sms approve", phone: "+15005550001", action: "approve", channel: "sms", expect: "approved"},
	{name: "0002 wa silent 5s, sms approve", phone: "+15005550002", action: "approve", channel: "sms", timeout: 5, expect: "approved"},
	{name: "0003 every channel fails", phone: "+15005550003", action: "none", expect: "failed"},
	{name: "0000 cancel", phone: "+15005550000", action: "cancel", expect: "canceled"},
}

// flight is one verification of the load.
type flight struct {
	idx   int
	sc    scenario
	id    string
	final string
	notes []string
	// refused counts checks with the right code answered "pending".
	refused int
	// wrongApproved counts wrong codes answered "approved".
	wrongApproved int
	// to is the destination; code reads the code of a channel's message
	// ("" while there is none).
	to   map[string]string
	code func(ctx context.Context, channel string) (string, error)
	// startAt and startDur time the start request (retries included);
	// doneAt is when the driver saw the final state.
	startAt  time.Time
	startDur time.Duration
	doneAt   time.Time
}

func (f *flight) note(format string, args ...any) {
	f.notes = append(f.notes, fmt.Sprintf(format, args...))
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

func TestChaos(t *testing.T) {
	if os.Getenv("VERIFLOW_CHAOS") != "1" {
		t.Skip("chaos test: set VERIFLOW_CHAOS=1 (make chaos)")
	}
	n := envInt(t, "VERIFLOW_CHAOS_N", 200)
	rounds := envInt(t, "VERIFLOW_CHAOS_ROUNDS", 3)
	began := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	dir, err := os.MkdirTemp("", "veriflow-chaos-*")
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
	t.Logf("chaos: N=%d rounds=%d, logs in %s", n, rounds, dir)

	// The binary, built once (VERIFLOW_CHAOS_BIN runs a prebuilt one instead).
	bin := os.Getenv("VERIFLOW_CHAOS_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "veriflow")
		gobin, err := exec.LookPath("go")
		if err != nil {
			t.Fatalf("go not found: %v", err)
		}
		if out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, "github.com/veriflow/veriflow/cmd/veriflow").CombinedOutput(); err != nil {
			t.Fatalf("build veriflow: %v\n%s", err, out)
		}
	}

	// Postgres.
	pg, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-pg.PID(), syscall.SIGCONT) // never leave it stopped
		if err := pg.Stop(); err != nil {
			t.Logf("stop postgres: %v", err)
		}
	})

	// Temporal, file-backed, on a fixed address so a restart finds it again.
	port, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	tlog, err := os.OpenFile(filepath.Join(dir, "temporal.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tlog.Close() })
	topts := devstack.TemporalOptions{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), DBFile: filepath.Join(dir, "temporal.db"), Output: tlog}
	var tmu sync.Mutex
	tmp, err := devstack.StartTemporal(ctx, topts)
	if err != nil {
		t.Fatalf("temporal: %v", err)
	}
	t.Cleanup(func() {
		tmu.Lock()
		defer tmu.Unlock()
		if tmp != nil {
			tmp.Stop()
		}
	})

	// Configuration shared by every veriflow process.
	apiPort, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	apiAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(apiPort))
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	cfgFile := filepath.Join(dir, "config.json")
	const limits = `{"tenants": {"chaos": {"limits": {"per_destination_10min": 100000, "per_destination_day": 100000, "per_client_ip_10min": 100000, "per_tenant_minute": 1000000, "failed_checks_per_destination_hour": 100000, "prefix_burst": 100000}}}}`
	if err := os.WriteFile(cfgFile, []byte(limits), 0o600); err != nil {
		t.Fatal(err)
	}
	env := baseEnv()
	env = append(env, "DATABASE_URL="+pg.URL(), "TEMPORAL_ADDRESS="+topts.Addr, "VERIFLOW_HTTP_ADDR="+apiAddr,
		"VERIFLOW_CODE_SECRET="+hex.EncodeToString(secret), "VERIFLOW_LOG_FORMAT=json", "VERIFLOW_CONFIG_FILE="+cfgFile)
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
	out, err := runOnce(ctx, bin, env, "apikey", "create", "--tenant", "chaos", "--mode", "test")
	if err != nil {
		t.Fatal(err)
	}
	key, err := lineValue(out, "api key:")
	if err != nil {
		t.Fatal(err)
	}
	// The tenant's backend receives every state change as a signed event.
	recv := newReceiver()
	t.Cleanup(recv.server.Close)
	out, err = runOnce(ctx, bin, env, "tenant", "set-callback", "--tenant", "chaos", "--url", recv.server.URL+"/veriflow")
	if err != nil {
		t.Fatal(err)
	}
	callbackSecret, err := lineValue(out, "secret:")
	if err != nil {
		t.Fatal(err)
	}
	recv.addSecret(callbackSecret)

	// Worker and API.
	newProc := func(name string) *proc {
		f, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		p := &proc{t: t, name: name, bin: bin, args: []string{name}, env: env, logf: f}
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.stop)
		return p
	}
	worker := newProc("worker")
	api := newProc("api")
	base := "http://" + apiAddr
	if err := devstack.WaitHTTP(ctx, base+"/healthz", time.Minute); err != nil {
		t.Fatal(err)
	}
	client := newAPIClient(key, base)
	t.Logf("stack ready in %s", time.Since(began).Round(time.Millisecond))

	// The load: N verifications spread over the fault window.
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	runID := strings.ToLower(rand.Text()[:8])
	spread := time.Duration(rounds) * roundSpread
	flights := make([]*flight, n)
	var wg sync.WaitGroup
	for i := range n {
		f := &flight{idx: i, sc: scenarios[i%len(scenarios)]}
		f.to = map[string]string{"phone": f.sc.phone}
		f.code = func(ctx context.Context, ch string) (string, error) {
			return client.sandboxCode(ctx, f.sc.phone, f.id, ch)
		}
		flights[i] = f
		delay := spread * time.Duration(i) / time.Duration(n)
		wg.Go(func() {
			if !sleepCtx(loadCtx, delay) {
				f.note("never started: %v", loadCtx.Err())
				return
			}
			drive(loadCtx, client, f, runID)
		})
	}
	loadDone := make(chan struct{})
	go func() { wg.Wait(); close(loadDone) }()

	// The faults, one after the other, while the load runs.
	var crashes struct {
		temporal, pgStops int
		log               []string
	}
	faultLog := func(format string, args ...any) {
		s := fmt.Sprintf("%s  %s", time.Since(began).Round(time.Second), fmt.Sprintf(format, args...))
		crashes.log = append(crashes.log, s)
		t.Log("fault: " + s)
	}
	gap := func() time.Duration { return 3*time.Second + mrand.N(3*time.Second) }
	down := func() time.Duration { return 2*time.Second + mrand.N(3*time.Second) }
	for r := range rounds {
		sleepCtx(ctx, gap())
		worker.kill()
		d := down()
		faultLog("round %d: kill -9 worker, down %s", r+1, d.Round(time.Millisecond))
		sleepCtx(ctx, d)
		if err := worker.start(); err != nil {
			t.Fatal(err)
		}

		sleepCtx(ctx, gap())
		api.kill()
		d = down()
		faultLog("round %d: kill -9 api, down %s", r+1, d.Round(time.Millisecond))
		sleepCtx(ctx, d)
		if err := api.start(); err != nil {
			t.Fatal(err)
		}
		if err := devstack.WaitHTTP(ctx, base+"/healthz", time.Minute); err != nil {
			t.Errorf("api after restart: %v", err)
		}

		sleepCtx(ctx, gap())
		tmu.Lock()
		tmp.Kill()
		tmp = nil
		tmu.Unlock()
		d = down()
		faultLog("round %d: kill -9 temporal, down %s", r+1, d.Round(time.Millisecond))
		sleepCtx(ctx, d)
		restarted := time.Now()
		var nt *devstack.Temporal
		for attempt := 1; ; attempt++ {
			nt, err = devstack.StartTemporal(ctx, topts)
			if err == nil || attempt == 3 {
				break
			}
			faultLog("temporal restart attempt %d failed: %v", attempt, err)
		}
		if err != nil {
			t.Fatalf("temporal does not come back: %v", err)
		}
		tmu.Lock()
		tmp = nt
		crashes.temporal++
		tmu.Unlock()
		faultLog("round %d: temporal back in %s", r+1, time.Since(restarted).Round(time.Millisecond))

		sleepCtx(ctx, gap())
		pid := pg.PID()
		if err := syscall.Kill(-pid, syscall.SIGSTOP); err != nil {
			t.Fatalf("SIGSTOP postgres: %v", err)
		}
		faultLog("round %d: SIGSTOP postgres (pgid %d) for %s", r+1, pid, pgPause)
		sleepCtx(ctx, pgPause)
		if err := syscall.Kill(-pid, syscall.SIGCONT); err != nil {
			t.Fatalf("SIGCONT postgres: %v", err)
		}
		crashes.pgStops++
		faultLog("round %d: SIGCONT postgres", r+1)
	}
	faultsDone := time.Now()
	t.Logf("faults done after %s; settling (at most %s)", faultsDone.Sub(began).Round(time.Second), settleTimeout)

	// Settle: every driver returns once its verification is final; then
	// the receipts, straight from Postgres.
	settled := settle(t, loadDone, stopLoad, faultsDone)
	conn, rc := settledReceipts(ctx, t, pg.URL())
	dup, err := sendFigures(ctx, conn, filepath.Join(dir, "worker.log"))
	if err != nil {
		t.Fatalf("sends: %v", err)
	}
	ev, err := recv.events(ctx, conn, eventTimeout)
	if err != nil {
		t.Fatalf("events: %v", err)
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
	var started, final int
	var lost []*flight
	refused := 0
	for _, f := range flights {
		refused += f.refused
		c := byScenario[f.sc.name]
		c[0]++
		if f.id != "" {
			started++
		}
		if f.final != "" && f.final != "pending" {
			final++
		}
		if f.final == f.sc.expect {
			c[1]++
		} else {
			lost = append(lost, f)
		}
		byScenario[f.sc.name] = c
	}
	wStarts, wKills, wUnexp := worker.figures()
	aStarts, aKills, aUnexp := api.figures()
	crashTotal := wKills + aKills + crashes.temporal
	row("CHAOS FIGURES", "")
	row("duration", time.Since(began).Round(time.Second))
	row("settle after last fault", settled.Round(time.Second))
	row("verifications requested", n)
	row("started (got an id)", started)
	row("final", final)
	row("lost (not in expected state)", len(lost))
	for _, sc := range scenarios {
		c := byScenario[sc.name]
		row("  "+sc.name+" → "+sc.expect, fmt.Sprintf("%d/%d", c[1], c[0]))
	}
	row("checks with the right code refused", refused)
	row("receipts stored", rc.total)
	row("receipts applied", rc.applied)
	row("receipts unapplied, message known (lost)", rc.unappliedKnown)
	row("receipts unapplied, message unknown", rc.unappliedUnknown)
	row("messages registered", dup.messages)
	row("sandbox messages stored", dup.sandbox)
	row("messages per (verification, seq) > 1", dup.dupAttempts)
	row("provider sends logged (\"code sent\")", dup.sendLines)
	row("distinct sends (verification, message)", dup.distinct)
	row("duplicate sends", dup.sendLines-dup.distinct)
	row("max sends of one attempt", dup.maxPerAttempt)
	row("sends repeated after a lost answer (send_uncertain)", dup.uncertain)
	row("send_uncertain per worker kill", fmt.Sprintf("%.2f", float64(dup.uncertain)/float64(max(wKills, 1))))
	row("events queued", ev.queued)
	row("events delivered (status)", ev.delivered)
	row("events still pending", ev.pending)
	row("events received, distinct ids", fmt.Sprintf("%d, %d", ev.received, ev.distinct))
	row("events lost (never received)", ev.lost)
	row("duplicate event deliveries", ev.received-ev.distinct)
	row("deliveries refused by the receiver (500) / bad signatures", fmt.Sprintf("%d / %d", recv.refused.Load(), recv.bad.Load()))
	row("crashes: worker kill -9", wKills)
	row("crashes: api kill -9", aKills)
	row("crashes: temporal kill -9", crashes.temporal)
	row("postgres SIGSTOP 20s", crashes.pgStops)
	row("unexpected exits worker/api", fmt.Sprintf("%d/%d", len(wUnexp), len(aUnexp)))
	row("process starts worker/api", fmt.Sprintf("%d/%d", wStarts, aStarts))
	row("http calls / retried", fmt.Sprintf("%d/%d", client.calls.Load(), client.retries.Load()))
	_ = tw.Flush()
	for _, f := range lost {
		fmt.Fprintf(&b, "LOST #%d %s (%s): state %q, want %q; %s\n", f.idx, f.id, f.sc.name, f.final, f.sc.expect, strings.Join(f.notes, "; "))
	}
	for _, s := range rc.samples {
		fmt.Fprintf(&b, "UNAPPLIED RECEIPT %s\n", s)
	}
	for _, s := range append(wUnexp, aUnexp...) {
		fmt.Fprintf(&b, "UNEXPECTED EXIT %s\n", s)
	}
	b.WriteString("faults:\n  " + strings.Join(crashes.log, "\n  ") + "\n")
	fmt.Print(b.String())
	t.Log("\n" + b.String())

	if len(lost) > 0 {
		t.Errorf("%d of %d verifications not in their expected final state", len(lost), n)
	}
	if refused > 0 {
		t.Errorf("%d checks with the right code were answered \"pending\" (see the notes of the verifications)", refused)
		for _, f := range flights {
			if f.refused > 0 && f.final == f.sc.expect {
				t.Logf("REFUSED #%d %s (%s), final %s: %s", f.idx, f.id, f.sc.name, f.final, strings.Join(f.notes, "; "))
			}
		}
	}
	if ev.lost > 0 || ev.pending > 0 || recv.bad.Load() > 0 {
		t.Errorf("events: %d lost, %d pending, %d with a bad signature", ev.lost, ev.pending, recv.bad.Load())
	}
	if ev.queued == 0 {
		t.Error("no outbound event was queued")
	}
	if rc.unappliedKnown > 0 {
		t.Errorf("%d receipts of known messages still unapplied %s after settling", rc.unappliedKnown, receiptTimeout)
	}
	if dup.dupAttempts > 0 {
		t.Errorf("%d attempts registered more than one message", dup.dupAttempts)
	}
	if dup.maxPerAttempt > 1+crashTotal {
		t.Errorf("one attempt was sent %d times, more than once per crash (%d crashes)", dup.maxPerAttempt, crashTotal)
	}
}

// baseEnv is the test's environment without anything that configures
// Veriflow, Temporal or Postgres.
func baseEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "VERIFLOW_TEMPORAL_CLI" || (!strings.HasPrefix(k, "VERIFLOW_") && !strings.HasPrefix(k, "TEMPORAL_") &&
			!strings.HasPrefix(k, "DATABASE_") && !strings.HasPrefix(k, "PG")) {
			out = append(out, kv)
		}
	}
	return out
}

// drive starts one verification and plays its scenario until it is final.
func drive(ctx context.Context, c *apiClient, f *flight, runID string) {
	kind := cmp.Or(f.sc.kind, "signup")
	req := map[string]any{"kind": kind, "to": f.to, "ttl_seconds": 600,
		"supersede": false, "metadata": map[string]string{"chaos": strconv.Itoa(f.idx)}}
	if f.sc.timeout > 0 {
		req["channel_timeout_seconds"] = f.sc.timeout
	}
	maps.Copy(req, f.sc.bind)
	body, _ := json.Marshal(req)
	f.startAt = time.Now()
	status, b, err := c.call(ctx, http.MethodPost, "/v1/verifications", body, fmt.Sprintf("chaos-%s-%d", runID, f.idx))
	f.startDur = time.Since(f.startAt)
	if err != nil {
		f.note("start: %v", err)
		return
	}
	var v verification
	if status != http.StatusCreated && status != http.StatusOK || json.Unmarshal(b, &v) != nil || v.ID == "" {
		f.note("start: %d %s", status, b)
		return
	}
	f.id, f.final = v.ID, v.Status
	// A person takes a while to type the code: keep verifications open
	// across the faults.
	if !sleepCtx(ctx, mrand.N(thinkTime)) {
		f.note("start: %v", ctx.Err())
		return
	}

	switch f.sc.action {
	case "approve":
		for ctx.Err() == nil {
			v, err := c.get(ctx, f.id)
			if err != nil {
				f.note("%v", err)
				break
			}
			f.final = v.Status
			if v.Status != "pending" {
				f.note("final before the check")
				break
			}
			if slices.ContainsFunc(v.Attempts, func(a attempt) bool { return a.Channel == f.sc.channel }) {
				code, err := f.code(ctx, f.sc.channel)
				if err != nil {
					f.note("%v", err)
					break
				}
				if code != "" && f.sc.wrongFirst {
					f.sc.wrongFirst = false
					status, b, err := c.try(ctx, http.MethodPost, "/v1/verifications/"+f.id+"/check", checkBody(wrongCode(code), f.sc.bind))
					f.note("wrong code typed once: %d %v", status, err)
					var ans verification
					if err == nil && status == http.StatusOK && json.Unmarshal(b, &ans) == nil && ans.Status == "approved" {
						f.wrongApproved++
						f.note("wrong code approved: %s", b)
					}
				}
				if code != "" {
					status, b, err := c.call(ctx, http.MethodPost, "/v1/verifications/"+f.id+"/check", checkBody(code, f.sc.bind), "")
					var ans verification
					switch {
					case err != nil:
						f.note("check: %v", err)
					case status != http.StatusOK:
						f.note("check: %d %s", status, b)
					case json.Unmarshal(b, &ans) == nil && ans.Status == "pending" && f.refused < 3:
						// The right code was refused: count it, and type it
						// again as a person would, so the final state still
						// tells the rest of the story.
						f.refused++
						f.note("right code refused at %s: %s", time.Now().Format("15:04:05.000"), b)
						sleepCtx(ctx, time.Second)
						continue
					}
					break
				}
			}
			sleepCtx(ctx, time.Second)
		}
	case "cancel":
		status, b, err := c.call(ctx, http.MethodPost, "/v1/verifications/"+f.id+"/cancel", []byte(`{}`), "")
		if err != nil {
			f.note("cancel: %v", err)
		} else if status != http.StatusOK {
			f.note("cancel: %d %s", status, b)
		}
	}

	for ctx.Err() == nil {
		v, err := c.get(ctx, f.id)
		if err == nil {
			f.final = v.Status
			if v.Status != "pending" {
				f.doneAt = time.Now()
				return
			}
		} else if ctx.Err() == nil {
			f.note("%v", err)
		}
		sleepCtx(ctx, time.Second+mrand.N(500*time.Millisecond))
	}
	f.note("still %s when the settle time ran out", f.final)
}

// checkBody is a check's body: the code and the binding of the start.
func checkBody(code string, bind map[string]any) []byte {
	req := map[string]any{"code": code}
	maps.Copy(req, bind)
	b, _ := json.Marshal(req)
	return b
}

// wrongCode returns a code of the same length that differs in its last
// digit.
func wrongCode(code string) string {
	last := (code[len(code)-1]-'0'+1)%10 + '0'
	return code[:len(code)-1] + string(rune(last))
}

type receipts struct {
	total, applied, unappliedKnown, unappliedUnknown int
	samples                                          []string
}

func receiptFigures(ctx context.Context, conn *pgx.Conn) (receipts, error) {
	var r receipts
	err := conn.QueryRow(ctx, `select count(*),
		count(*) filter (where applied_at is not null),
		count(*) filter (where applied_at is null and exists (select 1 from messages m where m.provider = r.provider and m.provider_message_id = r.provider_message_id)),
		count(*) filter (where applied_at is null and not exists (select 1 from messages m where m.provider = r.provider and m.provider_message_id = r.provider_message_id))
		from receipts r`).Scan(&r.total, &r.applied, &r.unappliedKnown, &r.unappliedUnknown)
	if err != nil {
		return r, fmt.Errorf("count receipts: %w", err)
	}
	if r.unappliedKnown == 0 {
		return r, nil
	}
	rows, err := conn.Query(ctx, `select m.verification_id, m.seq, m.channel, r.status, r.received_at, coalesce(v.status, '?')
		from receipts r join messages m on m.provider = r.provider and m.provider_message_id = r.provider_message_id
		left join verifications v on v.id = m.verification_id
		where r.applied_at is null order by r.received_at limit 20`)
	if err != nil {
		return r, fmt.Errorf("unapplied receipts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var vid, ch, st, vst string
		var seq int
		var at time.Time
		if err := rows.Scan(&vid, &seq, &ch, &st, &at, &vst); err != nil {
			return r, fmt.Errorf("unapplied receipts: %w", err)
		}
		r.samples = append(r.samples, fmt.Sprintf("%s seq %d %s %s received %s (verification %s)", vid, seq, ch, st, at.Format("15:04:05.000"), vst))
	}
	return r, rows.Err()
}

type sends struct {
	messages, sandbox, dupAttempts int
	sendLines, distinct            int
	maxPerAttempt                  int
	// uncertain counts the send_uncertain audit events: sends repeated
	// because an earlier call's answer was lost (docs/reliability.md).
	uncertain int
	// notStored counts the sends refused because their verification is not
	// stored: workflows whose start the API gave up (and deleted) while
	// Temporal had started them; each refusal is a duplicate code avoided.
	notStored int
}

// sendFigures counts sends. The sandbox stores one message per idempotency
// key "<verification>/<seq>" and answers a repeated Send with the stored
// message id, so a re-send never shows in Postgres; the worker logs "code
// sent" with the verification and the message id after every provider Send
// that returned, so a provider called again for one attempt shows as a
// second line for the same (verification, message id). A SendCode answered
// from the send ledger calls no provider and logs "code already sent"; one
// that resends after a lost answer appends a send_uncertain audit event.
func sendFigures(ctx context.Context, conn *pgx.Conn, workerLogs ...string) (sends, error) {
	var s sends
	err := conn.QueryRow(ctx, `select (select count(*) from messages), (select count(*) from sandbox_messages),
		(select count(*) from (select 1 from messages group by verification_id, seq having count(*) > 1) d),
		(select count(*) from events where type = 'send_uncertain')`).Scan(&s.messages, &s.sandbox, &s.dupAttempts, &s.uncertain)
	if err != nil {
		return s, fmt.Errorf("count messages: %w", err)
	}
	seen := map[string]int{}
	for _, workerLog := range workerLogs {
		if err := countSends(workerLog, seen, &s); err != nil {
			return s, err
		}
	}
	s.distinct = len(seen)
	return s, nil
}

// sendRefusedNotStored is the worker's log line for a send refused because
// its verification is not stored (activities.claimSend).
const sendRefusedNotStored = "send refused: the verification is not stored (its start was given up)"

// countSends adds the "code sent" lines of one worker log to seen and s.
func countSends(workerLog string, seen map[string]int, s *sends) error {
	f, err := os.Open(workerLog)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg            string `json:"msg"`
			VerificationID string `json:"verification_id"`
			MessageID      string `json:"message_id"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue // a line cut by kill -9
		}
		if line.Msg == sendRefusedNotStored {
			s.notStored++
			continue
		}
		if line.Msg != "code sent" {
			continue
		}
		s.sendLines++
		k := line.VerificationID + "|" + line.MessageID
		seen[k]++
		s.maxPerAttempt = max(s.maxPerAttempt, seen[k])
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return err
	}
	return nil
}

// settle waits until every driver has returned (each once its verification
// is final), at most settleTimeout after the last fault, and returns how
// long that took.
func settle(t *testing.T, loadDone <-chan struct{}, stopLoad func(), faultsDone time.Time) time.Duration {
	t.Helper()
	select {
	case <-loadDone:
	case <-time.After(settleTimeout):
		t.Errorf("not every verification final %s after the last fault", settleTimeout)
		stopLoad()
		<-loadDone
	}
	return time.Since(faultsDone)
}

// settledReceipts connects to Veriflow's database (closed when the test
// ends) and reads the receipt figures, waiting up to receiptTimeout for the
// relay to apply the receipts of known messages.
func settledReceipts(ctx context.Context, t *testing.T, url string) (*pgx.Conn, receipts) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.WithoutCancel(ctx)) })
	rc, err := receiptFigures(ctx, conn)
	deadline := time.Now().Add(receiptTimeout)
	for err == nil && rc.unappliedKnown > 0 && time.Now().Before(deadline) {
		sleepCtx(ctx, time.Second)
		rc, err = receiptFigures(ctx, conn)
	}
	if err != nil {
		t.Fatalf("receipts: %v", err)
	}
	return conn, rc
}
