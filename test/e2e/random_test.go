package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/client"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers/providerstest"
	"github.com/veriflow/veriflow/internal/providers/sandbox"
)

// TestRandomPaths drives many verifications through random interleavings
// of start, supersede (a start again for the same destination and kind),
// receipts (the sandbox stores its scripted receipts before the send
// returns, so they arrive early; for tenant initech signed Meta and Twilio
// webhooks are posted right after the fake provider answers, duplicated and
// out of order), resend, cancel, right and wrong checks, failover (a 5 s
// channel timeout on numbers whose WhatsApp stays silent) and, in longer
// runs, expiry (ttl 60 s). Then it asserts that every projected row
// satisfies the read model's invariants (queried in Postgres directly), that
// GET matches the workflow's own state (the state query) and that the
// channel analytics answer for both tenants.
//
// VERIFLOW_RANDOM_SEED replays a run (the seed is logged);
// VERIFLOW_RANDOM_N sets how many verifications to start (default 30).
func TestRandomPaths(t *testing.T) {
	s := need(t)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("VERIFLOW_RANDOM_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("VERIFLOW_RANDOM_SEED: %v", err)
		}
	}
	n, long := 30, false
	if v := os.Getenv("VERIFLOW_RANDOM_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("VERIFLOW_RANDOM_N %q", v)
		}
		long = n > 30
	}
	t.Logf("random paths: seed %d, %d verifications (replay with VERIFLOW_RANDOM_SEED=%d)", seed, n, seed)
	r := &randomRun{s: s, t: t, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), long: long,
		sandboxKey: randomPathsKey(t, s), since: time.Now().UTC().Add(-time.Minute)}

	for started := 0; started < n; {
		if len(r.live) == 0 || r.rnd.IntN(10) < 3 {
			r.start()
			started++
		} else {
			v := r.live[r.rnd.IntN(len(r.live))]
			switch r.rnd.IntN(8) {
			case 0:
				r.supersede(v)
				started++
			case 1:
				r.check(v, true)
			case 2, 3:
				r.check(v, false)
			case 4:
				r.act(v, "resend")
			case 5:
				r.act(v, "cancel")
			default:
				r.receipts(v)
			}
		}
		r.pause()
	}
	r.finish()
	r.assertInvariants()
	for _, v := range r.all {
		r.assertMatchesWorkflow(v)
	}
	for _, key := range []string{r.sandboxKey, s.initech} {
		q := url.Values{"from": {r.since.Format(time.RFC3339)}}
		if res := s.call(t, "GET", "/v1/analytics/channels?"+q.Encode(), key, nil); res.Status != http.StatusOK {
			t.Fatalf("analytics (seed %d): %d %s", seed, res.Status, res.Body)
		}
	}
}

// randomPathsKey returns a test-mode key of tenant "randompaths" (its rate limits are
// lifted: the run starts many verifications to the few sandbox numbers, and
// only this test uses the tenant, so its supersedes cancel no other test's
// verifications).
func randomPathsKey(t *testing.T, s *stack) string {
	t.Helper()
	key, err := s.server.CreateKey(t.Context(), "randompaths", contract.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// randomRun is the state of one randomized run.
type randomRun struct {
	s          *stack
	t          *testing.T
	rnd        *rand.Rand
	long       bool
	sandboxKey string
	since      time.Time
	all, live  []*randomVerification
}

type randomVerification struct {
	id, key, phone, kind string
	live                 bool // initech: sent through the fake providers
	ttl                  int
	posted               int // webhook receipts posted
}

// sandboxPhones are the contract's scripted numbers.
var sandboxPhones = []string{sandbox.PhoneAllDelivered, sandbox.PhoneNotOnWhatsApp, sandbox.PhoneWhatsAppSilent,
	sandbox.PhoneEveryChannelFail, sandbox.PhoneRCSNotCapable, sandbox.PhoneNeverRead, sandbox.PhoneVoiceNoAnswer}

// pause is a short random pause between actions (part of the interleaving).
func (r *randomRun) pause() {
	time.Sleep(time.Duration(r.rnd.IntN(40)) * time.Millisecond)
}

func (r *randomRun) start() {
	v := &randomVerification{kind: []string{"two_factor", "signup"}[r.rnd.IntN(2)]}
	if r.rnd.IntN(3) == 0 {
		// A live number through the fakes: few distinct ones, so that
		// starts supersede each other there too.
		v.key, v.live, v.phone = r.s.initech, true, fmt.Sprintf("+39333%07d", 1000000+r.rnd.IntN(4))
	} else {
		v.key, v.phone = r.sandboxKey, sandboxPhones[r.rnd.IntN(len(sandboxPhones))]
	}
	r.begin(v)
}

// supersede starts again for the same destination and kind.
func (r *randomRun) supersede(old *randomVerification) {
	r.begin(&randomVerification{kind: old.kind, key: old.key, live: old.live, phone: old.phone})
}

func (r *randomRun) begin(v *randomVerification) {
	body := map[string]any{"kind": v.kind, "to": map[string]string{"phone": v.phone}, "max_checks": 1 + r.rnd.IntN(3)}
	if r.rnd.IntN(2) == 0 {
		body["channel_timeout_seconds"] = 5
	}
	if r.long && r.rnd.IntN(4) == 0 {
		v.ttl = 60
		body["ttl_seconds"] = 60
	}
	res := r.s.call(r.t, "POST", "/v1/verifications", v.key, body)
	if res.Status != http.StatusCreated {
		r.t.Fatalf("start %v: %d %s", body, res.Status, res.Body)
	}
	v.id = res.verification(r.t).ID
	r.all, r.live = append(r.all, v), append(r.live, v)
	k := r.rnd.IntN(6)
	if len(r.all) == 1 {
		k = 0 // every run takes this path at least once
	}
	switch k {
	case 0:
		// Superseded or canceled at once, most likely before its first
		// send: a final state with no attempts.
		if r.rnd.IntN(2) == 0 {
			r.act(v, "cancel")
		} else {
			r.begin(&randomVerification{kind: v.kind, key: v.key, live: v.live, phone: v.phone})
		}
	case 1, 2:
		if v.live {
			r.receipts(v) // as early as the fake's answer allows
		}
	}
}

// check submits the right code (when the sandbox or the fake has one) or a
// wrong one.
func (r *randomRun) check(v *randomVerification, right bool) {
	code := "000000"
	if right {
		if c := r.code(v); c != "" {
			code = c
		}
	}
	r.post(v, "check", map[string]string{"code": code})
}

// code finds the verification's latest code, or "" when none was sent yet.
func (r *randomRun) code(v *randomVerification) string {
	if v.live {
		return "" // the fakes' bodies are not mapped to verifications
	}
	msgs, err := client.New(r.s.server.URL, v.key, nil).SandboxMessages(r.t.Context(), v.phone)
	if err != nil {
		r.t.Fatalf("sandbox: %v", err)
	}
	for _, m := range msgs {
		if m.VerificationID == v.id {
			return m.Code
		}
	}
	return ""
}

func (r *randomRun) act(v *randomVerification, action string) { r.post(v, action, nil) }

// post calls an action; any answer but a server error is part of the game.
func (r *randomRun) post(v *randomVerification, action string, body any) {
	res := r.s.call(r.t, "POST", "/v1/verifications/"+v.id+"/"+action, v.key, body)
	if res.Status >= 500 {
		r.t.Fatalf("%s %s: %d %s", action, v.id, res.Status, res.Body)
	}
}

// receipts posts signed webhooks for the fake provider's messages to v's
// number: random statuses, duplicated and out of order.
func (r *randomRun) receipts(v *randomVerification) {
	if !v.live {
		r.act(v, "resend") // sandbox receipts are scripted; a resend brings more
		return
	}
	var ids []string
	for range 20 { // the send may still be in flight: a short wait
		if ids = r.s.fakes.idsTo(v.phone); len(ids) > v.posted {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(ids) == 0 {
		return
	}
	id := ids[len(ids)-1]
	v.posted = len(ids)
	statuses := []string{"sent", "delivered", "read", "failed"}
	for range 1 + r.rnd.IntN(4) {
		st := statuses[r.rnd.IntN(len(statuses))]
		if slices.Contains([]string{"SM", "MM"}, id[:2]) {
			form := url.Values{"MessageSid": {id}, "MessageStatus": {st}, "AccountSid": {twilioAccountSID}, "To": {v.phone}}
			if st == "failed" {
				form.Set("ErrorCode", "30003")
			}
			if res := r.s.twilioCallback(r.t, form, twilioAuthToken); res.Status >= 300 {
				r.t.Fatalf("twilio callback: %d %s", res.Status, res.Body)
			}
			continue
		}
		code := 0
		if st == "failed" {
			code = 131026
		}
		body := metaStatus(id, st, code)
		if res := r.s.metaWebhook(r.t, body, providerstest.MetaSignature(metaAppSecret, body)); res.Status >= 300 {
			r.t.Fatalf("meta webhook: %d %s", res.Status, res.Body)
		}
	}
}

// finish brings every verification to a final state: the ones with a short
// ttl expire (long runs), the others are canceled in random order.
func (r *randomRun) finish() {
	r.rnd.Shuffle(len(r.all), func(i, j int) { r.all[i], r.all[j] = r.all[j], r.all[i] })
	for _, v := range r.all {
		if v.ttl == 0 {
			r.act(v, "cancel")
		}
	}
	tally := map[string]int{}
	for _, v := range r.all {
		g := r.s.waitFor(r.t, v.key, v.id, time.Duration(v.ttl+30)*time.Second, "final", func(g verification) bool { return g.Status != "pending" })
		tally[g.Status]++
		if len(g.Attempts) == 0 {
			tally["final before any send"]++
		}
		if len(g.Attempts) > 1 {
			tally["more than one attempt"]++
		}
	}
	r.t.Logf("outcomes: %v", tally)
}

// assertInvariants reads every row of the run's tenants in Postgres and
// checks the read model's invariants (not relying on migration 006).
func (r *randomRun) assertInvariants() {
	ctx := r.t.Context()
	conn, err := pgx.Connect(ctx, r.s.dbURL)
	if err != nil {
		r.t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	ids := make([]string, len(r.all))
	for i, v := range r.all {
		ids[i] = v.id
	}
	rows, err := conn.Query(ctx, `
		select id, status, checks_left, jsonb_typeof(attempts), completed_at is not null,
		       case when jsonb_typeof(attempts) = 'array' then (select count(*) from jsonb_array_elements(attempts) e
		            where jsonb_typeof(e) <> 'object' or jsonb_typeof(e->'channel') is distinct from 'string'
		               or jsonb_typeof(e->'status') is distinct from 'string') else 0 end
		from verifications where id = any($1)`, ids)
	if err != nil {
		r.t.Fatal(err)
	}
	seen := 0
	for rows.Next() {
		var id, status, typ string
		var checksLeft, badAttempts int
		var completed bool
		if err := rows.Scan(&id, &status, &checksLeft, &typ, &completed, &badAttempts); err != nil {
			r.t.Fatal(err)
		}
		seen++
		final := contract.Status(status).Final()
		switch {
		case typ != "array":
			r.t.Errorf("%s (%s): attempts is a JSON %s", id, status, typ)
		case badAttempts > 0:
			r.t.Errorf("%s: %d malformed attempts", id, badAttempts)
		case !slices.Contains(contract.Statuses, contract.Status(status)):
			r.t.Errorf("%s: unknown status %q", id, status)
		case checksLeft < 0:
			r.t.Errorf("%s: checks_left %d", id, checksLeft)
		case completed != final:
			r.t.Errorf("%s: status %s with completed_at set = %v", id, status, completed)
		}
	}
	if err := rows.Err(); err != nil {
		r.t.Fatal(err)
	}
	if seen != len(ids) {
		r.t.Errorf("%d rows for %d verifications", seen, len(ids))
	}
}

// assertMatchesWorkflow waits until GET agrees with the workflow's own
// state (the projection is asynchronous) and fails with both when it never
// does.
func (r *randomRun) assertMatchesWorkflow(v *randomVerification) {
	ctx := r.t.Context()
	var st contract.State
	var got verification
	deadline := time.Now().Add(15 * time.Second)
	for {
		q, err := r.s.app.Temporal.QueryWorkflow(ctx, contract.WorkflowID(v.id), "", contract.QueryState)
		if err != nil {
			r.t.Fatalf("query %s: %v", v.id, err)
		}
		if err := q.Get(&st); err != nil {
			r.t.Fatal(err)
		}
		res := r.s.call(r.t, "GET", "/v1/verifications/"+v.id, v.key, nil)
		if res.Status != http.StatusOK {
			r.t.Fatalf("get %s: %d %s", v.id, res.Status, res.Body)
		}
		got = res.verification(r.t)
		if sameState(got, st) {
			return
		}
		if time.Now().After(deadline) {
			r.t.Errorf("%s: GET %s does not match the workflow's state %s", v.id, summary(got), summaryState(st))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sameState(g verification, st contract.State) bool {
	ch := ""
	if g.Channel != nil {
		ch = *g.Channel
	}
	if g.Status != string(st.Status) || g.ChecksLeft != st.ChecksLeft || ch != string(st.Channel) ||
		(g.CompletedAt == nil) != (st.CompletedAt == nil) || len(g.Attempts) != len(st.Attempts) {
		return false
	}
	for i, a := range st.Attempts {
		if g.Attempts[i].Channel != string(a.Channel) || g.Attempts[i].Status != string(a.Status) || g.Attempts[i].Error != string(a.Error) {
			return false
		}
	}
	return true
}

func summary(g verification) string {
	ch := ""
	if g.Channel != nil {
		ch = *g.Channel
	}
	out := fmt.Sprintf("status=%s channel=%s checks_left=%d completed=%v attempts=", g.Status, ch, g.ChecksLeft, g.CompletedAt != nil)
	for _, a := range g.Attempts {
		out += fmt.Sprintf("[%s %s %s]", a.Channel, a.Status, a.Error)
	}
	return out
}

func summaryState(st contract.State) string {
	out := fmt.Sprintf("status=%s channel=%s checks_left=%d completed=%v version=%d attempts=", st.Status, st.Channel, st.ChecksLeft, st.CompletedAt != nil, st.Version)
	for _, a := range st.Attempts {
		out += fmt.Sprintf("[%s %s %s]", a.Channel, a.Status, a.Error)
	}
	return out
}
