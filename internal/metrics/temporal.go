package metrics

import (
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	contribtally "go.temporal.io/sdk/contrib/tally"
)

// TemporalReportInterval is how often the Temporal SDK's counters and
// gauges are flushed into the Prometheus collectors (timers are observed
// at once).
const TemporalReportInterval = time.Second

// temporalBuckets are the histogram buckets, in seconds, of the SDK's
// timers: task latencies from milliseconds up to long polls (about a
// minute).
func temporalBuckets() []float64 {
	return []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
}

// NewTemporalHandler returns a metrics handler for client.Options that
// registers the Temporal SDK's own metrics — temporal_request_*,
// temporal_workflow_task_*, temporal_activity_*, sticky cache, worker task
// slots, pollers… — on reg, named the Prometheus way (counters end in
// _total, timers are histograms in _seconds). Close the returned closer
// after the Temporal client to flush and stop the reporting loop.
//
// A metric the SDK emits with a label set that conflicts with an earlier
// registration of the same name is dropped and logged on log, not
// panicked on.
func NewTemporalHandler(reg prometheus.Registerer, log *slog.Logger) (client.MetricsHandler, io.Closer) {
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:              reg,
		DefaultTimerType:        tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: temporalBuckets(),
		OnRegisterError: func(err error) {
			log.Warn("temporal sdk metric not registered", "error", err)
		},
	})
	sanitize := contribtally.PrometheusSanitizeOptions
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sanitize,
		// tally's own cardinality gauges are of no use to an operator.
		OmitCardinalityMetrics: true,
	}, TemporalReportInterval)
	return contribtally.NewMetricsHandler(contribtally.NewPrometheusNamingScope(scope)), closer
}
