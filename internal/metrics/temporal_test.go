package metrics

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestTemporalHandler: the SDK's counters, gauges and timers become
// Prometheus series (named the Prometheus way, tags as labels) on the
// process's registry, beside the Go collector and Veriflow's own metrics.
func TestTemporalHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	New(reg)
	var logs bytes.Buffer
	h, closer := NewTemporalHandler(reg, slog.New(slog.NewTextHandler(&logs, nil)))

	root := h.WithTags(map[string]string{"namespace": "default", "task_queue": "veriflow"})
	root.WithTags(map[string]string{"operation": "StartWorkflowExecution"}).Counter("temporal_request").Inc(2)
	wf := root.WithTags(map[string]string{"workflow_type": "Verification"})
	wf.Timer("temporal_workflow_task_execution_latency").Record(30 * time.Millisecond)
	wf.Timer("temporal_workflow_task_execution_latency").Record(70 * time.Millisecond)
	root.WithTags(map[string]string{"poller_type": "workflow_task"}).Gauge("temporal_num_pollers").Update(2)
	// The same name with another label set is dropped and logged, not a panic.
	h.Counter("temporal_request").Inc(1)

	if err := closer.Close(); err != nil { // flushes counters and gauges
		t.Fatal(err)
	}

	want := `
# HELP temporal_request_total temporal_request_total counter
# TYPE temporal_request_total counter
temporal_request_total{namespace="default",operation="StartWorkflowExecution",task_queue="veriflow"} 2
# HELP temporal_num_pollers temporal_num_pollers gauge
# TYPE temporal_num_pollers gauge
temporal_num_pollers{namespace="default",poller_type="workflow_task",task_queue="veriflow"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "temporal_request_total", "temporal_num_pollers"); err != nil {
		t.Error(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, mf := range mfs {
		if mf.GetName() != "temporal_workflow_task_execution_latency_seconds" {
			continue
		}
		found = true
		hist := mf.GetMetric()[0].GetHistogram()
		if hist.GetSampleCount() != 2 || hist.GetSampleSum() < 0.099 || hist.GetSampleSum() > 0.101 {
			t.Errorf("latency histogram: count %d sum %v, want 2 and 0.1", hist.GetSampleCount(), hist.GetSampleSum())
		}
		labels := map[string]string{}
		for _, l := range mf.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["workflow_type"] != "Verification" || labels["task_queue"] != "veriflow" {
			t.Errorf("latency labels %v", labels)
		}
	}
	if !found {
		t.Error("no temporal_workflow_task_execution_latency_seconds histogram")
	}
	if !strings.Contains(logs.String(), "temporal sdk metric not registered") {
		t.Errorf("conflicting label set not logged: %q", logs.String())
	}
}
