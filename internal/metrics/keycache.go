package metrics

import "github.com/prometheus/client_golang/prometheus"

// Results of an API-key cache lookup, as the result label names them.
const (
	// KeyCacheHit: the key was served from the cache.
	KeyCacheHit = "hit"
	// KeyCacheMiss: not cached (or expired); read from Postgres.
	KeyCacheMiss = "miss"
	// KeyCacheBypass: the cache's listener is down (or the cache is
	// off), so nothing is served from it; read from Postgres.
	KeyCacheBypass = "bypass"
)

type keyCacheMetrics struct {
	lookups    *prometheus.CounterVec
	listenerUp prometheus.Gauge
}

func newKeyCacheMetrics(reg prometheus.Registerer) keyCacheMetrics {
	k := keyCacheMetrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veriflow_api_key_cache_lookups_total",
			Help: "API-key lookups of the authentication path, by result: hit (no database round trip), miss or bypass (listener down).",
		}, []string{"result"}),
		listenerUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "veriflow_api_key_cache_listener_up",
			Help: "1 while the API-key cache listens for revocations (LISTEN veriflow_api_keys), else 0 (the cache is bypassed).",
		}),
	}
	reg.MustRegister(k.lookups, k.listenerUp)
	return k
}

// ObserveKeyLookup counts one API-key lookup by result (KeyCacheHit,
// KeyCacheMiss, KeyCacheBypass). A nil m counts nothing.
func (m *Metrics) ObserveKeyLookup(result string) {
	if m == nil {
		return
	}
	m.keys.lookups.WithLabelValues(result).Inc()
}

// SetKeyListenerUp reports whether the API-key cache's listener is up. A
// nil m reports nothing.
func (m *Metrics) SetKeyListenerUp(up bool) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.keys.listenerUp.Set(v)
}
