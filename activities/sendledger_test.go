package activities

import (
	"context"
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

// fakeEndpoint is a provider API on 127.0.0.1 that counts the sends it
// receives. Each send waits for the current gate (nil: answer at once),
// so a test can hold answers back or lose them.
type fakeEndpoint struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	gate     func(r *http.Request) bool // false: never answer (until the client gives up)
	arrived  chan struct{}
}

func newFakeEndpoint(t *testing.T, answer func(w http.ResponseWriter, n int64)) *fakeEndpoint {
	t.Helper()
	f := &fakeEndpoint{arrived: make(chan struct{}, 100)}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n := f.requests.Add(1)
		f.arrived <- struct{}{}
		f.mu.Lock()
		gate := f.gate
		f.mu.Unlock()
		if gate != nil && !gate(r) {
			<-r.Context().Done() // the request reached us; its answer is lost
			return
		}
		answer(w, n)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeEndpoint) setGate(g func(*http.Request) bool) {
	f.mu.Lock()
	f.gate = g
	f.mu.Unlock()
}

// rewrite sends every request to target (twilio-go has no base URL option).
type rewrite struct{ target *url.URL }

func (rw rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = rw.target.Scheme, rw.target.Host, rw.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

// adapter is a real provider adapter pointed at a fake endpoint.
type adapter struct {
	name    string
	channel contract.Channel
	build   func(t *testing.T, baseURL string) providers.Provider
	answer  func(w http.ResponseWriter, n int64)
}

var adapters = []adapter{
	{
		name: "twilio", channel: contract.ChannelSMS,
		build: func(t *testing.T, baseURL string) providers.Provider {
			u, _ := url.Parse(baseURL)
			p, err := twilio.New(twilio.Config{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "fakeAuthToken0123456789abcdef012",
				MessagingServiceSID: "MG0123456789abcdef0123456789abcdef",
				HTTPClient:          &http.Client{Transport: rewrite{u}, Timeout: 10 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		answer: func(w http.ResponseWriter, n int64) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = fmt.Fprintf(w, `{"sid":"SM%032d","status":"accepted"}`, n)
		},
	},
	{
		name: "meta", channel: contract.ChannelWhatsApp,
		build: func(t *testing.T, baseURL string) providers.Provider {
			p, err := meta.New(meta.Config{PhoneNumberID: "1234567890", AccessToken: "fake-token", BaseURL: baseURL, TemplateName: "otp"})
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		answer: func(w http.ResponseWriter, n int64) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.%d"}]}`, n)
		},
	},
}

// ledgerRig is SendCode with the real send ledger (Postgres) and one real
// adapter pointed at a fake endpoint.
type ledgerRig struct {
	acts    *Activities
	st      *store.Store
	ep      *fakeEndpoint
	in      contract.SendInput
	reg     *prometheus.Registry
	adapter adapter
}

func newLedgerRig(t *testing.T, st *store.Store, ad adapter, vid string) *ledgerRig {
	t.Helper()
	secrets, err := otp.New([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	storeVerification(t, st, vid, "acme", "")
	ep := newFakeEndpoint(t, ad.answer)
	reg := prometheus.NewRegistry()
	p := ad.build(t, ep.URL)
	acts := &Activities{Store: messageStore{}, Secrets: secrets, Receipts: noReceipts{},
		Providers: providers.Router{Providers: map[string]providers.Provider{p.Name(): p}, Channels: map[contract.Channel]string{ad.channel: p.Name()}},
		Metrics:   metrics.New(reg), Log: slog.New(slog.DiscardHandler), Ledger: st}
	in := contract.SendInput{VerificationID: vid, TenantID: "acme", Mode: contract.ModeLive, Kind: contract.KindTwoFactor,
		Channel: ad.channel, To: contract.Destinations{Phone: "+393331234567"}, Locale: "en", CodeLength: 6, TTL: 5 * time.Minute, Seq: 1}
	return &ledgerRig{acts: acts, st: st, ep: ep, in: in, reg: reg, adapter: ad}
}

func (r *ledgerRig) uncertain() float64 {
	return testutil.ToFloat64(metricVec(r.reg, "veriflow_send_uncertain_total", r.adapter.name))
}

// metricVec reads one counter from reg by name and provider label.
func metricVec(reg *prometheus.Registry, name, provider string) prometheus.Collector {
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "provider" && l.GetValue() == provider {
						ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, "", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
						return
					}
				}
			}
		}
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, "", nil, nil), prometheus.CounterValue, 0)
	})
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

func (r *ledgerRig) auditUncertain(t *testing.T) int {
	t.Helper()
	evs, err := r.st.Events(t.Context(), r.in.VerificationID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == string(contract.EventSendUncertain) {
			n++
			if e.Detail != r.adapter.name || e.Channel != r.in.Channel {
				t.Errorf("audit event %+v", e)
			}
		}
	}
	return n
}

// TestSendLedgerRetryAfterSuccess: a SendCode retried after the provider
// accepted the message returns the stored message id and calls the
// provider's endpoint no second time (twilio and meta adapters).
func TestSendLedgerRetryAfterSuccess(t *testing.T) {
	st := storetest.Open(t)
	for _, ad := range adapters {
		t.Run(ad.name, func(t *testing.T) {
			r := newLedgerRig(t, st, ad, "vf_success_"+ad.name)
			first, err := r.acts.SendCode(t.Context(), r.in)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				again, err := r.acts.SendCode(t.Context(), r.in)
				if err != nil {
					t.Fatal(err)
				}
				if again != first {
					t.Fatalf("retry got %+v, first %+v", again, first)
				}
			}
			if n := r.ep.requests.Load(); n != 1 {
				t.Fatalf("endpoint called %d times, want 1", n)
			}
			if u := r.uncertain(); u != 0 {
				t.Fatalf("uncertain %v", u)
			}
			// Another attempt (seq 2) is another message.
			r.in.Seq = 2
			if _, err := r.acts.SendCode(t.Context(), r.in); err != nil || r.ep.requests.Load() != 2 {
				t.Fatalf("seq 2: %v, %d requests", err, r.ep.requests.Load())
			}
		})
	}
}

// TestSendLedgerLostAnswer: the endpoint records the send, then never
// answers (the client gives up at the attempt's deadline). The retry does
// not know whether the message went out: by the rule it sends again and
// counts it (metric and audit event). A worker killed mid-call (a claim
// never settled, its lease run out) is treated the same.
func TestSendLedgerLostAnswer(t *testing.T) {
	st := storetest.Open(t)
	for _, ad := range adapters {
		t.Run(ad.name, func(t *testing.T) {
			r := newLedgerRig(t, st, ad, "vf_lost_"+ad.name)
			r.ep.setGate(func(*http.Request) bool { return false })
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			_, err := r.acts.SendCode(ctx, r.in)
			cancel()
			var appErr *temporal.ApplicationError
			if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
				t.Fatalf("lost answer: want a retryable error, got %v", err)
			}
			if r.ep.requests.Load() != 1 {
				t.Fatalf("first call: %d requests", r.ep.requests.Load())
			}
			r.ep.setGate(nil)
			res, err := r.acts.SendCode(t.Context(), r.in)
			if err != nil {
				t.Fatal(err)
			}
			if n := r.ep.requests.Load(); n != 2 {
				t.Fatalf("retry: endpoint called %d times in all, want 2 (resend)", n)
			}
			if u := r.uncertain(); u != 1 {
				t.Fatalf("veriflow_send_uncertain_total = %v, want 1", u)
			}
			if n := r.auditUncertain(t); n != 1 {
				t.Fatalf("%d send_uncertain audit events, want 1", n)
			}
			// Now accepted: later retries send nothing more and count nothing.
			if again, err := r.acts.SendCode(t.Context(), r.in); err != nil || again != res || r.ep.requests.Load() != 2 || r.uncertain() != 1 {
				t.Fatalf("after the resend: %v %+v, %d requests, uncertain %v", err, again, r.ep.requests.Load(), r.uncertain())
			}

			// A worker killed mid-call: its claim stays "calling" until its
			// lease (here none) runs out; the next attempt resends and counts.
			r.in.Seq = 7
			key := fmt.Sprintf("%s/%d", r.in.VerificationID, r.in.Seq)
			c, err := st.ClaimSend(t.Context(), store.SendAttempt{Key: key, VerificationID: r.in.VerificationID, TenantID: "acme", Provider: ad.name})
			if err != nil || !c.Claimed {
				t.Fatalf("dead worker's claim: %+v %v", c, err)
			}
			if _, err := r.acts.SendCode(t.Context(), r.in); err != nil {
				t.Fatal(err)
			}
			if r.ep.requests.Load() != 3 || r.uncertain() != 2 || r.auditUncertain(t) != 2 {
				t.Fatalf("after a crash: %d requests, uncertain %v, audit %d", r.ep.requests.Load(), r.uncertain(), r.auditUncertain(t))
			}
		})
	}
}

// TestSendLedgerConcurrentAttempts: duplicate SendCode attempts of one send
// running at once (a retry started while a timed-out attempt still runs)
// call the endpoint once; the others answer "in progress" (retryable) or,
// once it is accepted, the same message id.
func TestSendLedgerConcurrentAttempts(t *testing.T) {
	st := storetest.Open(t)
	for _, ad := range adapters {
		t.Run(ad.name, func(t *testing.T) {
			r := newLedgerRig(t, st, ad, "vf_concurrent_"+ad.name)
			release := make(chan struct{})
			r.ep.setGate(func(*http.Request) bool { <-release; return true })
			const n = 8
			type out struct {
				res contract.SendResult
				err error
			}
			outs := make(chan out, n)
			start := make(chan struct{})
			for range n {
				go func() {
					<-start
					res, err := r.acts.SendCode(t.Context(), r.in)
					outs <- out{res, err}
				}()
			}
			close(start)
			// Wait until the one call reached the endpoint and every other
			// attempt has answered, then let the call's answer out.
			<-r.ep.arrived
			var got []out
			for len(got) < n-1 {
				got = append(got, <-outs)
			}
			close(release)
			got = append(got, <-outs)
			var ok []contract.SendResult
			for _, o := range got {
				var appErr *temporal.ApplicationError
				switch {
				case o.err == nil:
					ok = append(ok, o.res)
				case errors.As(o.err, &appErr) && appErr.Type() == ErrTypeSendInProgress && !appErr.NonRetryable():
				default:
					t.Fatalf("unexpected error %v", o.err)
				}
			}
			if len(ok) != 1 {
				t.Fatalf("%d attempts succeeded, want 1 (the others in progress)", len(ok))
			}
			// Their retries find the stored message id.
			for range n - 1 {
				res, err := r.acts.SendCode(t.Context(), r.in)
				if err != nil || res != ok[0] {
					t.Fatalf("retry: %+v %v, want %+v", res, err, ok[0])
				}
			}
			if c := r.ep.requests.Load(); c != 1 {
				t.Fatalf("endpoint called %d times, want 1", c)
			}
			if u := r.uncertain(); u != 0 {
				t.Fatalf("uncertain %v", u)
			}
		})
	}
}

// TestSendLedgerPermanentFailure: a permanent failure is stored with its
// reason; a retry returns it without calling the endpoint.
func TestSendLedgerPermanentFailure(t *testing.T) {
	st := storetest.Open(t)
	r := newLedgerRig(t, st, adapters[1], "vf_perm")
	r.in.To.Phone = "+1" // not an E.164 number the adapter accepts: refused before any request
	r.in.Channel = contract.ChannelWhatsApp
	for i := range 2 {
		_, err := r.acts.SendCode(t.Context(), r.in)
		var appErr *temporal.ApplicationError
		var reason contract.FailureReason
		if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Details(&reason) != nil || reason != contract.ReasonInvalidDestination {
			t.Fatalf("try %d: %v (%q)", i, err, reason)
		}
	}
	c, err := st.ClaimSend(t.Context(), store.SendAttempt{Key: "vf_perm/1", Provider: "meta"})
	if err != nil || c.Claimed || c.State != store.SendFailed || c.Reason != string(contract.ReasonInvalidDestination) {
		t.Fatalf("ledger: %+v %v", c, err)
	}
}
