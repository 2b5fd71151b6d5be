// Package metrics defines Veriflow's Prometheus metrics: HTTP traffic per
// route, and the verification business — starts, outcomes, failovers,
// checks, send errors, delivery and approval latency — by kind and
// channel, and the health of the relays and of outbound event delivery.
// One Metrics is made
// per process and registered on that process's registry (no globals).
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/fraud"
)

// Metrics holds the collectors.
type Metrics struct {
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	started      *prometheus.CounterVec
	finished     *prometheus.CounterVec
	failovers    *prometheus.CounterVec
	checks       *prometheus.CounterVec
	sends        *prometheus.CounterVec
	delivery     *prometheus.HistogramVec
	risk         *prometheus.CounterVec
	riskReasons  *prometheus.CounterVec
	sendErrors   *prometheus.CounterVec
	approval     *prometheus.HistogramVec
	relayRuns    *prometheus.CounterVec
	relayItems   *prometheus.CounterVec
	relayLastOK  *prometheus.GaugeVec
	eventPosts   *prometheus.CounterVec
	// uncertain counts sends repeated after a lost provider answer (sends.go).
	uncertain *prometheus.CounterVec
	// providers are the circuit breakers' and provider calls' (providers.go).
	providers providerMetrics
	// keys are the API-key cache's (keycache.go).
	keys keyCacheMetrics
}

// The relays, as the relay label names them.
const (
	// RelayReceipts signals stored receipts again (package receipts).
	RelayReceipts = "receipts"
	// RelayEvents starts stranded outbound-event deliveries (events/delivery).
	RelayEvents = "events"
)

// Outcomes of one outbound event POST, as the outcome label names them.
const (
	// PostDelivered: the callback answered 2xx.
	PostDelivered = "delivered"
	// PostFailed: a retryable failure (connection, timeout, non-2xx).
	PostFailed = "failed"
	// PostGivenUp: the event was marked failed and will not be retried.
	PostGivenUp = "given_up"
)

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "veriflow_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_verifications_started_total", Help: "Verifications started, by kind.",
		}, []string{"kind"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_verifications_finished_total", Help: "Verifications finished, by kind, final status and last channel.",
		}, []string{"kind", "status", "channel"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_failovers_total", Help: "Failovers to the next channel, by the channel that failed and the reason.",
		}, []string{"channel", "reason"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_checks_total", Help: "Code checks by kind and outcome (approved, wrong_code, binding_mismatch).",
		}, []string{"kind", "outcome"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_sends_total", Help: "Codes handed to a provider, by channel and provider.",
		}, []string{"channel", "provider"}),
		delivery: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "veriflow_delivery_latency_seconds", Help: "Time from a send to its first delivered/read receipt, by channel.",
			Buckets: []float64{.25, .5, 1, 2, 5, 10, 20, 30, 60, 120, 300},
		}, []string{"channel"}),
		risk: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_risk_decisions_total", Help: "Fraud-engine decisions on live starts, by decision and mode (shadow: not acted on).",
		}, []string{"decision", "mode"}),
		riskReasons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_risk_reasons_total", Help: "Reasons of fraud-engine challenges and blocks, by signal, scope and mode.",
		}, []string{"signal", "scope", "mode"}),
		sendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_send_errors_total", Help: "Sends a provider refused (the SendCode activity failed), by channel; the reason is on veriflow_failovers_total.",
		}, []string{"channel"}),
		approval: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "veriflow_approval_latency_seconds", Help: "Time from a verification's first send to its approval, by kind and the channel that carried the code.",
			Buckets: []float64{2, 5, 10, 20, 30, 60, 120, 300, 600, 1800},
		}, []string{"kind", "channel"}),
		relayRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_relay_runs_total", Help: "Passes of a relay (receipts, events) by result (ok, error).",
		}, []string{"relay", "result"}),
		relayItems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_relay_redriven_total", Help: "Items a relay found stranded and drove again (receipts signalled, deliveries started).",
		}, []string{"relay"}),
		relayLastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "veriflow_relay_last_success_timestamp_seconds", Help: "Unix time of a relay's last successful pass (set by worker processes only).",
		}, []string{"relay"}),
		eventPosts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_outbound_event_posts_total", Help: "Outbound event POSTs to tenants' callbacks by outcome (delivered, failed, given_up).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.httpRequests, m.httpDuration, m.started, m.finished, m.failovers, m.checks, m.sends, m.delivery,
		m.risk, m.riskReasons,
		m.sendErrors, m.approval, m.relayRuns, m.relayItems, m.relayLastOK, m.eventPosts)
	// Series with a small, known label set start at zero, so rate() and
	// the alerts see them before the first increment.
	for _, c := range contract.Channels {
		m.sendErrors.WithLabelValues(string(c))
	}
	for _, r := range []string{RelayReceipts, RelayEvents} {
		m.relayRuns.WithLabelValues(r, "ok")
		m.relayRuns.WithLabelValues(r, "error")
		m.relayItems.WithLabelValues(r)
	}
	for _, o := range []string{PostDelivered, PostFailed, PostGivenUp} {
		m.eventPosts.WithLabelValues(o)
	}
	m.uncertain = newSendUncertain()
	reg.MustRegister(m.uncertain)
	m.providers = newProviderMetrics(reg)
	m.keys = newKeyCacheMetrics(reg)
	return m
}

// ObserveRelay records one pass of a relay that drove n items again; err
// is the pass's error. A successful pass sets the relay's last-success
// time to now.
func (m *Metrics) ObserveRelay(relay string, n int, err error, now time.Time) {
	if err != nil {
		m.relayRuns.WithLabelValues(relay, "error").Inc()
		return
	}
	m.relayRuns.WithLabelValues(relay, "ok").Inc()
	m.relayItems.WithLabelValues(relay).Add(float64(n))
	m.relayLastOK.WithLabelValues(relay).Set(float64(now.UnixNano()) / 1e9)
}

// ObserveEventPost records the outcome of one outbound event POST
// (PostDelivered, PostFailed or PostGivenUp).
func (m *Metrics) ObserveEventPost(outcome string) {
	m.eventPosts.WithLabelValues(outcome).Inc()
}

// ObserveHTTP records one request.
func (m *Metrics) ObserveHTTP(route, method string, code int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// ObserveRecord derives the business metrics from one projection of a
// verification: the events it appends and the state it writes. (The Record
// local activity may be retried, so counts are at least once.)
func (m *Metrics) ObserveRecord(kind contract.Kind, in contract.RecordInput) {
	k := string(kind)
	if k == "" {
		k = "unknown"
	}
	for _, e := range in.Events {
		switch e.Type {
		case contract.EventCreated:
			m.started.WithLabelValues(k).Inc()
		case contract.EventSent:
			m.sends.WithLabelValues(string(e.Channel), e.Detail).Inc()
		case contract.EventFailedOver:
			m.failovers.WithLabelValues(string(e.Channel), e.Detail).Inc()
		case contract.EventCheckFailed:
			m.checks.WithLabelValues(k, e.Detail).Inc()
		case contract.EventApproved:
			m.checks.WithLabelValues(k, "approved").Inc()
			if first := firstSent(in.State.Attempts); first != nil && !e.At.Before(*first) {
				m.approval.WithLabelValues(k, channelLabel(in.State.Channel)).Observe(e.At.Sub(*first).Seconds())
			}
		case contract.EventSendFailed:
			m.sendErrors.WithLabelValues(channelLabel(e.Channel)).Inc()
		}
		if e.Channel == "" && contract.Status(e.Type).Final() && isStatus(string(e.Type)) {
			m.finished.WithLabelValues(k, string(e.Type), string(in.State.Channel)).Inc()
		}
		if contract.AttemptStatus(e.Type).Delivered() {
			for _, a := range in.State.Attempts {
				if a.Channel == e.Channel && a.SentAt != nil && a.DeliveredAt != nil && a.DeliveredAt.Equal(e.At) {
					m.delivery.WithLabelValues(string(a.Channel)).Observe(a.DeliveredAt.Sub(*a.SentAt).Seconds())
				}
			}
		}
	}
}

// firstSent is the earliest send time of the attempts, or nil.
func firstSent(attempts []contract.Attempt) *time.Time {
	var first *time.Time
	for _, a := range attempts {
		if a.SentAt != nil && (first == nil || a.SentAt.Before(*first)) {
			first = a.SentAt
		}
	}
	return first
}

// channelLabel keeps the channel label to the known channels.
func channelLabel(c contract.Channel) string {
	for _, k := range contract.Channels {
		if c == k {
			return string(c)
		}
	}
	return "unknown"
}

func isStatus(s string) bool {
	switch contract.Status(s) {
	case contract.StatusApproved, contract.StatusExpired, contract.StatusCanceled, contract.StatusMaxChecksReached, contract.StatusFailed:
		return true
	}
	return false
}

// Risk counts a fraud-engine decision and its reasons.
func (m *Metrics) Risk(r fraud.Risk) {
	m.risk.WithLabelValues(string(r.Decision), string(r.Mode)).Inc()
	for _, x := range r.Reasons {
		m.riskReasons.WithLabelValues(string(x.Signal), string(x.Scope), string(r.Mode)).Inc()
	}
}
