// Package metrics defines Veriflow's Prometheus metrics: HTTP traffic per
// route, and the verification business — starts, outcomes, failovers,
// checks and delivery latency — by kind and channel. One Metrics is made
// per process and registered on that process's registry (no globals).
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/veriflow/veriflow/internal/contract"
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
	// uncertain counts sends repeated after a lost provider answer (sends.go).
	uncertain *prometheus.CounterVec
}

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
	}
	m.uncertain = newSendUncertain()
	reg.MustRegister(m.httpRequests, m.httpDuration, m.started, m.finished, m.failovers, m.checks, m.sends, m.delivery, m.uncertain)
	return m
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

func isStatus(s string) bool {
	switch contract.Status(s) {
	case contract.StatusApproved, contract.StatusExpired, contract.StatusCanceled, contract.StatusMaxChecksReached, contract.StatusFailed:
		return true
	}
	return false
}
