package metrics

import "github.com/prometheus/client_golang/prometheus"

// providerMetrics are the provider-failover metrics (docs/reliability.md,
// "Providers fail").
type providerMetrics struct {
	circuit *prometheus.GaugeVec
	calls   *prometheus.CounterVec
}

func newProviderMetrics(reg prometheus.Registerer) providerMetrics {
	pm := providerMetrics{
		circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "veriflow_provider_circuit_state",
			Help: "A provider's circuit breaker as this process last saw it: 0 closed, 1 half-open, 2 open.",
		}, []string{"provider"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_provider_calls_total",
			Help: "Provider send calls by result (ok, permanent, rate_limited, server_error, timeout, network, other) and sends kept from a provider (circuit_open, throttled: its rate cap queued it).",
		}, []string{"provider", "result"}),
	}
	reg.MustRegister(pm.circuit, pm.calls)
	return pm
}

// Circuit state values of veriflow_provider_circuit_state.
const (
	CircuitClosed   = 0
	CircuitHalfOpen = 1
	CircuitOpen     = 2
)

// ObserveCircuit sets a provider's circuit state gauge (CircuitClosed,
// CircuitHalfOpen, CircuitOpen). A nil m records nothing.
func (m *Metrics) ObserveCircuit(provider string, state int) {
	if m == nil {
		return
	}
	m.providers.circuit.WithLabelValues(provider).Set(float64(state))
}

// ObserveProviderCall counts one provider call (or a send kept from it)
// by result. A nil m counts nothing.
func (m *Metrics) ObserveProviderCall(provider, result string) {
	if m == nil {
		return
	}
	m.providers.calls.WithLabelValues(provider, result).Inc()
}
