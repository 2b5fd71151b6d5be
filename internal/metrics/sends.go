package metrics

import "github.com/prometheus/client_golang/prometheus"

func newSendUncertain() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "veriflow_send_uncertain_total",
		Help: "Sends repeated because an earlier call of the same attempt may have reached the provider and its answer was lost (each one a possible duplicate message), by provider.",
	}, []string{"provider"})
}

// ObserveSendUncertain counts one send repeated after a lost provider
// answer (docs/reliability.md). A nil m counts nothing.
func (m *Metrics) ObserveSendUncertain(provider string) {
	if m == nil {
		return
	}
	m.uncertain.WithLabelValues(provider).Inc()
}
