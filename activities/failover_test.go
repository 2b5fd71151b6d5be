package activities

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.temporal.io/sdk/temporal"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/metrics"
	"github.com/veriflow/veriflow/internal/otp"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/providers/meta"
	"github.com/veriflow/veriflow/internal/providers/twilio"
	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/store/storetest"
)

// fault is what a faultEndpoint answers.
type fault string

const (
	faultNone       fault = ""           // accept the message
	fault5xx        fault = "5xx"        // HTTP 503
	faultHang       fault = "hang"       // never answer (until the client gives up)
	fault429        fault = "429"        // HTTP 429 with Retry-After: 2
	faultMeta130429 fault = "meta130429" // Meta's throughput error (HTTP 400, code 130429)
)

// faultEndpoint is a fake Twilio or Meta API on 127.0.0.1 whose answer
// is set by the test; it counts requests per answer. With capPerSecond set
// it enforces a provider's own rate limit as a token bucket (capPerSecond
// tokens, refilled at capPerSecond a second): a request without a token
// draws a 429, counted in over.
type faultEndpoint struct {
	*httptest.Server
	isMeta       bool
	fault        atomic.Value // fault
	faultsLeft   atomic.Int64 // with failTimes: answer the fault this many times, then accept
	requests     atomic.Int64
	accepted     atomic.Int64
	over         atomic.Int64
	capPerSecond int64
	mu           sync.Mutex
	tokens       float64
	refilled     time.Time
}

func newFaultEndpoint(t *testing.T, isMeta bool) *faultEndpoint {
	t.Helper()
	f := &faultEndpoint{isMeta: isMeta}
	f.fault.Store(faultNone)
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *faultEndpoint) set(x fault) { f.fault.Store(x) }

// failTimes answers x to the next n requests, then accepts.
func (f *faultEndpoint) failTimes(x fault, n int64) {
	f.faultsLeft.Store(n)
	f.fault.Store(x)
}

func (f *faultEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	n := f.requests.Add(1)
	if f.capPerSecond > 0 {
		f.mu.Lock()
		now := time.Now()
		if f.refilled.IsZero() {
			f.tokens = float64(f.capPerSecond)
		} else {
			f.tokens = min(float64(f.capPerSecond), f.tokens+now.Sub(f.refilled).Seconds()*float64(f.capPerSecond))
		}
		f.refilled = now
		ok := f.tokens >= 1
		if ok {
			f.tokens--
		}
		f.mu.Unlock()
		if !ok {
			f.over.Add(1)
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	current := f.fault.Load().(fault)
	if current != faultNone && f.faultsLeft.Load() > 0 && f.faultsLeft.Add(-1) == 0 {
		f.fault.Store(faultNone)
	}
	switch current {
	case fault5xx:
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":"unavailable"}`)
		return
	case faultHang:
		<-r.Context().Done()
		return
	case fault429:
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
		if f.isMeta {
			_, _ = io.WriteString(w, `{"error":{"message":"slow down","type":"OAuthException","code":130429}}`)
		} else {
			_, _ = io.WriteString(w, `{"code":20429,"message":"Too Many Requests","status":429}`)
		}
		return
	case faultMeta130429:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429}}`)
		return
	}
	f.accepted.Add(1)
	if f.isMeta {
		_, _ = fmt.Fprintf(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.%d"}]}`, n)
		return
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = fmt.Fprintf(w, `{"sid":"SM%032d","status":"accepted"}`, n)
}

// failoverRig is SendCode on a "meta,twilio" WhatsApp route, both real
// adapters against fault endpoints, with the real send ledger, circuit
// breakers and rate caps in Postgres.
type failoverRig struct {
	t          *testing.T
	acts       *Activities
	st         *store.Store
	meta, twil *faultEndpoint
	reg        *prometheus.Registry
	n          atomic.Int64
	id         string // tells this rig's verifications from another's on the same store
	route      string
}

func newFailoverRig(t *testing.T, st *store.Store, route string, policy store.CircuitPolicy, callTimeout time.Duration, rates map[string]int) *failoverRig {
	t.Helper()
	secrets, err := otp.New([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	r := &failoverRig{t: t, id: strings.ToLower(rand.Text()[:6]), st: st, meta: newFaultEndpoint(t, true), twil: newFaultEndpoint(t, false), reg: prometheus.NewRegistry(), route: route}
	mp, err := meta.New(meta.Config{PhoneNumberID: "1234567890", AccessToken: "fake-token", BaseURL: r.meta.URL, TemplateName: "otp"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(r.twil.URL)
	tp, err := twilio.New(twilio.Config{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "fakeAuthToken0123456789abcdef012",
		WhatsAppFrom: "whatsapp:+15005550006", ContentSID: "HX0123456789abcdef0123456789abcdef",
		HTTPClient: &http.Client{Transport: rewrite{u}, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	r.acts = &Activities{Store: messageStore{}, Secrets: secrets, Receipts: noReceipts{},
		Providers: providers.Router{Providers: map[string]providers.Provider{"meta": mp, "twilio": tp},
			Channels: map[contract.Channel]string{contract.ChannelWhatsApp: route}},
		Metrics: metrics.New(r.reg), Log: slog.New(slog.DiscardHandler), Ledger: st,
		Failover: &Failover{Circuits: st, Limiter: st, Policy: policy, CallTimeout: callTimeout, Rates: rates}}
	return r
}

// input is the SendInput of a new verification, stored in Postgres.
func (r *failoverRig) input() contract.SendInput {
	id := fmt.Sprintf("vf_%s_%s_%d", strings.ReplaceAll(r.route, ",", "_"), r.id, r.n.Add(1))
	storeVerification(r.t, r.st, id, "acme", "")
	return contract.SendInput{VerificationID: id, TenantID: "acme",
		Mode: contract.ModeLive, Kind: contract.KindTwoFactor, Channel: contract.ChannelWhatsApp,
		To: contract.Destinations{Phone: "+393331234567"}, Locale: "en", CodeLength: 6, TTL: 5 * time.Minute, Seq: 1}
}

// sendLikeTemporal runs SendCode as Temporal's retry policy would within a
// step of stepTimeout: a retryable error is retried after its
// NextRetryDelay (else 10 ms here), a non-retryable one ends the step.
func (r *failoverRig) sendLikeTemporal(t *testing.T, in contract.SendInput, stepTimeout time.Duration) (contract.SendResult, int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	for attempts := 1; ; attempts++ {
		res, err := r.acts.SendCode(ctx, in)
		var appErr *temporal.ApplicationError
		switch {
		case err == nil:
			return res, attempts, nil
		case errors.As(err, &appErr) && appErr.NonRetryable():
			return res, attempts, err
		}
		wait := 10 * time.Millisecond
		if errors.As(err, &appErr) && appErr.NextRetryDelay() > 0 {
			wait = appErr.NextRetryDelay()
		}
		select {
		case <-ctx.Done():
			return res, attempts, fmt.Errorf("step timeout: %w", err)
		case <-time.After(wait): // Temporal's retry timer
		}
	}
}

func (r *failoverRig) calls(provider, result string) float64 {
	return testutil.ToFloat64(labelled(r.reg, "veriflow_provider_calls_total", map[string]string{"provider": provider, "result": result}))
}

func (r *failoverRig) circuit(provider string) float64 {
	return testutil.ToFloat64(labelled(r.reg, "veriflow_provider_circuit_state", map[string]string{"provider": provider}))
}

// labelled reads one series of reg by name and labels (0 when absent).
func labelled(reg *prometheus.Registry, name string, labels map[string]string) prometheus.Collector {
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		v := 0.0
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
		series:
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if labels[l.GetName()] != l.GetValue() {
						continue series
					}
				}
				if m.GetCounter() != nil {
					v = m.GetCounter().GetValue()
				} else {
					v = m.GetGauge().GetValue()
				}
			}
		}
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, "", nil, nil), prometheus.UntypedValue, v)
	})
}

var testPolicy = store.CircuitPolicy{Failures: 3, Window: time.Minute, Cooldown: time.Hour, Probe: 5 * time.Second}

// TestProviderFault5xxOpensBreaker: Meta answers 503. Each verification's
// retry goes to Twilio at once; after 3 failures Meta's circuit opens and
// the next verifications go straight to Twilio: every one is delivered.
func TestProviderFault5xxOpensBreaker(t *testing.T) {
	r := newFailoverRig(t, storetest.Open(t), "meta,twilio", testPolicy, 2*time.Second, nil)
	r.meta.set(fault5xx)
	for i := range 8 {
		res, _, err := r.sendLikeTemporal(t, r.input(), 10*time.Second)
		if err != nil || res.Provider != "twilio" || res.MessageID == "" {
			t.Fatalf("send %d: %+v, %v", i, res, err)
		}
	}
	if got := r.meta.requests.Load(); got != 3 {
		t.Errorf("meta called %d times, want 3 (then its circuit is open)", got)
	}
	if r.twil.accepted.Load() != 8 {
		t.Errorf("twilio accepted %d, want 8", r.twil.accepted.Load())
	}
	if r.calls("meta", "server_error") != 3 || r.calls("meta", "circuit_open") != 5 || r.calls("twilio", "ok") != 8 {
		t.Errorf("calls: meta 5xx %v, meta circuit_open %v, twilio ok %v", r.calls("meta", "server_error"),
			r.calls("meta", "circuit_open"), r.calls("twilio", "ok"))
	}
	if r.circuit("meta") != metrics.CircuitOpen || r.circuit("twilio") != metrics.CircuitClosed {
		t.Errorf("circuit gauges: meta %v twilio %v", r.circuit("meta"), r.circuit("twilio"))
	}
	// Shared through Postgres: another replica (a second rig on the same
	// database) skips Meta without having seen a failure.
	other := newFailoverRig(t, r.st, "meta,twilio", testPolicy, 2*time.Second, nil)
	other.n.Store(1000)
	if res, _, err := other.sendLikeTemporal(t, other.input(), 10*time.Second); err != nil || res.Provider != "twilio" || other.meta.requests.Load() != 0 {
		t.Errorf("second replica: %+v, %v, meta calls %d", res, err, other.meta.requests.Load())
	}
}

// TestProviderFaultRecovery: once the cool-down is over, one probe send
// goes to Meta; it succeeds, the circuit closes and sends are back on Meta.
// A failed probe opens the circuit again.
func TestProviderFaultRecovery(t *testing.T) {
	policy := testPolicy
	policy.Cooldown = 300 * time.Millisecond
	r := newFailoverRig(t, storetest.Open(t), "meta,twilio", policy, 2*time.Second, nil)
	r.meta.set(fault5xx)
	for range 3 {
		if _, _, err := r.sendLikeTemporal(t, r.input(), 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if r.circuit("meta") != metrics.CircuitOpen {
		t.Fatalf("meta circuit %v, want open", r.circuit("meta"))
	}
	// Still failing: the probe after the cool-down fails, the circuit reopens.
	probed := r.meta.requests.Load()
	waitFor(t, 5*time.Second, func() bool {
		_, _, _ = r.sendLikeTemporal(t, r.input(), 10*time.Second)
		return r.meta.requests.Load() > probed
	})
	if r.circuit("meta") != metrics.CircuitOpen {
		t.Fatalf("meta circuit %v after a failed probe, want open", r.circuit("meta"))
	}
	// Recovered: the next probe succeeds and sends are back on Meta.
	r.meta.set(faultNone)
	waitFor(t, 5*time.Second, func() bool {
		res, _, err := r.sendLikeTemporal(t, r.input(), 10*time.Second)
		return err == nil && res.Provider == "meta"
	})
	if r.circuit("meta") != metrics.CircuitClosed {
		t.Fatalf("meta circuit %v after a good probe, want closed", r.circuit("meta"))
	}
	for range 3 {
		if res, _, err := r.sendLikeTemporal(t, r.input(), 10*time.Second); err != nil || res.Provider != "meta" {
			t.Fatalf("after recovery: %+v, %v", res, err)
		}
	}
}

// TestProviderFaultHang: Meta accepts the connection and never answers.
// The call is cut at the call timeout, and the retry goes to Twilio: the
// verification is sent well within its step, not after it.
func TestProviderFaultHang(t *testing.T) {
	r := newFailoverRig(t, storetest.Open(t), "meta,twilio", testPolicy, 500*time.Millisecond, nil)
	r.meta.set(faultHang)
	start := time.Now()
	res, attempts, err := r.sendLikeTemporal(t, r.input(), 10*time.Second)
	took := time.Since(start)
	if err != nil || res.Provider != "twilio" || attempts != 2 {
		t.Fatalf("%+v, %v after %d attempts", res, err, attempts)
	}
	if took > 2*time.Second {
		t.Errorf("hung provider held the send %v (call timeout 500ms)", took)
	}
	if r.calls("meta", "timeout") != 1 {
		t.Errorf("meta timeouts counted %v, want 1", r.calls("meta", "timeout"))
	}
	t.Logf("hung meta: sent through twilio after %v", took)

	// Both providers hang: the step's timeout ends the send, never later.
	r.twil.set(faultHang)
	start = time.Now()
	_, _, err = r.sendLikeTemporal(t, r.input(), 3*time.Second)
	if err == nil || time.Since(start) > 4*time.Second {
		t.Fatalf("two hung providers: %v after %v", err, time.Since(start))
	}
}

// TestProviderFaultAllOpen: with every provider of the route open, SendCode
// fails at once, non-retryable, reason provider_unavailable: the workflow
// fails over to its next channel instead of waiting out the step.
func TestProviderFaultAllOpen(t *testing.T) {
	r := newFailoverRig(t, storetest.Open(t), "meta,twilio", store.CircuitPolicy{Failures: 1, Window: time.Minute, Cooldown: time.Hour, Probe: time.Second}, time.Second, nil)
	r.meta.set(fault5xx)
	r.twil.set(fault5xx)
	start := time.Now()
	_, _, err := r.sendLikeTemporal(t, r.input(), 10*time.Second)
	var appErr *temporal.ApplicationError
	var reason contract.FailureReason
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != contract.ErrTypeDeliveryFailed ||
		appErr.Details(&reason) != nil || reason != contract.ReasonProviderUnavailable {
		t.Fatalf("err %v, want non-retryable provider_unavailable", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
	// A retry of an attempt the ledger shows accepted still answers it,
	// even with every circuit open.
	r2 := newFailoverRig(t, r.st, "meta,twilio", testPolicy, time.Second, nil)
	in := r2.input()
	in.VerificationID = "vf_accepted_before"
	storeVerification(t, r2.st, in.VerificationID, "acme", "")
	if _, err := r2.st.ClaimSend(t.Context(), store.SendAttempt{Key: in.VerificationID + "/1", VerificationID: in.VerificationID,
		TenantID: "acme", Provider: "twilio", Lease: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.st.AcceptSend(t.Context(), in.VerificationID+"/1", "SMaccepted"); err != nil {
		t.Fatal(err)
	}
	res, err := r.acts.SendCode(t.Context(), in)
	if err != nil || res.MessageID != "SMaccepted" || res.Provider != "twilio" {
		t.Fatalf("ledgered send with all circuits open: %+v, %v", res, err)
	}
}

// TestProviderFault429RetryAfter: a 429 with Retry-After: 2 comes back as
// a retryable error whose NextRetryDelay is 2 s, counts toward the
// breaker (rate_limited), and the retry after it goes through. Meta's
// throughput error 130429 (HTTP 400) is a rate limit too.
func TestProviderFault429RetryAfter(t *testing.T) {
	st := storetest.Open(t)
	for _, route := range []string{"meta", "twilio"} {
		r := newFailoverRig(t, st, route, testPolicy, 2*time.Second, nil)
		ep := r.meta
		if route == "twilio" {
			ep = r.twil
		}
		ep.set(fault429)
		_, err := r.acts.SendCode(t.Context(), r.input())
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.NonRetryable() || appErr.NextRetryDelay() != 2*time.Second {
			t.Fatalf("%s: err %v, want retryable with NextRetryDelay 2s", route, err)
		}
		if r.calls(route, "rate_limited") != 1 {
			t.Errorf("%s: rate_limited calls %v", route, r.calls(route, "rate_limited"))
		}
		// One 429, then accepted: the retry waits the 2 s asked for.
		ep.failTimes(fault429, 1)
		start := time.Now()
		res, attempts, err := r.sendLikeTemporal(t, r.input(), 10*time.Second)
		took := time.Since(start)
		if err != nil || res.Provider != route || attempts != 2 || took < 2*time.Second {
			t.Fatalf("%s: %+v, %v after %d attempts in %v; want sent by the 2nd attempt, after 2 s", route, res, err, attempts, took)
		}
		t.Logf("%s: 429 with Retry-After 2 honoured: sent by the retry after %v", route, took)
	}
	// Counted toward the breaker: three 130429s in a row open Meta's circuit.
	r := newFailoverRig(t, storetest.Open(t), "meta,twilio", testPolicy, 2*time.Second, nil)
	r.meta.set(faultMeta130429)
	for range 4 {
		if res, _, err := r.sendLikeTemporal(t, r.input(), 10*time.Second); err != nil || res.Provider != "twilio" {
			t.Fatalf("%+v, %v", res, err)
		}
	}
	if r.meta.requests.Load() != 3 || r.circuit("meta") != metrics.CircuitOpen || r.calls("meta", "rate_limited") != 3 {
		t.Errorf("meta requests %d, circuit %v, rate_limited %v", r.meta.requests.Load(), r.circuit("meta"), r.calls("meta", "rate_limited"))
	}
}

// TestProviderFaultPermanentDoesNotOpen: per-destination refusals (131026
// not_on_whatsapp) are not the provider's health: the circuit stays closed.
func TestProviderFaultPermanentDoesNotOpen(t *testing.T) {
	st := storetest.Open(t)
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"Message undeliverable","type":"OAuthException","code":131026}}`)
	}))
	t.Cleanup(ep.Close)
	r := newFailoverRig(t, st, "meta,twilio", testPolicy, 2*time.Second, nil)
	mp, err := meta.New(meta.Config{PhoneNumberID: "1234567890", AccessToken: "fake-token", BaseURL: ep.URL, TemplateName: "otp"})
	if err != nil {
		t.Fatal(err)
	}
	r.acts.Providers.Providers["meta"] = mp
	for range 5 {
		_, _, err := r.sendLikeTemporal(t, r.input(), 10*time.Second)
		var appErr *temporal.ApplicationError
		var reason contract.FailureReason
		if !errors.As(err, &appErr) || appErr.Details(&reason) != nil || reason != contract.ReasonNotOnWhatsApp {
			t.Fatalf("err %v, want not_on_whatsapp", err)
		}
	}
	if r.circuit("meta") != metrics.CircuitClosed || r.calls("meta", "permanent") != 5 {
		t.Errorf("circuit %v, permanent calls %v", r.circuit("meta"), r.calls("meta", "permanent"))
	}
}

// TestProviderRateCapBurst: 300 sends at once against Meta capped at 80/s
// (the fake answers 429 past 80 requests a second, as Meta would): the
// burst queues instead of drawing 429s. Without the cap, the same burst
// draws them (the check can fail).
func TestProviderRateCapBurst(t *testing.T) {
	const burst, rate = 300, 80
	st := storetest.Open(t)
	for _, capped := range []bool{true, false} {
		rates := map[string]int{"meta": rate}
		if !capped {
			rates = nil
		}
		r := newFailoverRig(t, st, "meta", store.CircuitPolicy{Failures: 1000, Window: time.Minute, Cooldown: time.Hour, Probe: time.Second},
			5*time.Second, rates)
		r.n.Store(int64(len(rates)) * 10000)
		r.meta.capPerSecond = rate
		start := time.Now()
		var wg sync.WaitGroup
		var failed atomic.Int64
		for range burst {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := r.sendLikeTemporal(t, r.input(), 30*time.Second); err != nil {
					failed.Add(1)
				}
			}()
		}
		wg.Wait()
		took := time.Since(start)
		t.Logf("capped %v: %d sends, provider cap %d/s: %v, provider 429s %d, throttled (queued) %v",
			capped, burst, rate, took, r.meta.over.Load(), r.calls("meta", "throttled"))
		if !capped {
			if r.meta.over.Load() == 0 {
				t.Errorf("uncapped burst drew no 429: the fake does not limit")
			}
			continue
		}
		if r.meta.over.Load() != 0 || r.calls("meta", "rate_limited") != 0 {
			t.Errorf("provider 429s: %d", r.meta.over.Load())
		}
		if r.meta.accepted.Load() != burst || failed.Load() != 0 {
			t.Errorf("accepted %d of %d, %d failed", r.meta.accepted.Load(), burst, failed.Load())
		}
		if least := time.Duration(float64(burst-1) / rate * float64(time.Second)); took < least {
			t.Errorf("burst took %v, less than (burst-1)/rate = %v: not capped", took, least)
		}
	}
}

// waitFor polls cond until it holds or d has passed.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
