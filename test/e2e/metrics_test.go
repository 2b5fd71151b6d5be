package e2e

import (
	"bufio"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMetricsMove: /metrics shows HTTP traffic, the business metrics of
// the verifications the suite ran, and the Temporal SDK's worker metrics.
func TestMetricsMove(t *testing.T) {
	s := need(t)
	v := s.start(t, s.globex, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": "+15005550001"}})
	code := s.sandboxCodeEventually(t, s.globex, "+15005550001", v.ID)
	s.waitFor(t, s.globex, v.ID, 10*time.Second, "sms sent", func(v verification) bool { return len(v.Attempts) == 2 })
	s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.globex, map[string]string{"code": code})
	r := s.call(t, "GET", "/metrics", "", nil)
	if r.Status != 200 {
		t.Fatalf("metrics: %d", r.Status)
	}
	body := string(r.Body)
	for _, want := range []string{
		`veriflow_http_requests_total{code="201",method="POST",route="/v1/verifications"}`,
		`veriflow_verifications_started_total{kind="two_factor"}`,
		`veriflow_failovers_total{channel="whatsapp",reason="not_on_whatsapp"}`,
		`veriflow_checks_total{kind="two_factor",outcome="approved"}`,
		`veriflow_verifications_finished_total{channel="sms",kind="two_factor",status="approved"}`,
		`veriflow_delivery_latency_seconds_count{channel="sms"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "+15005550001") {
		t.Error("/metrics holds a destination")
	}

	// The SDK's counters are flushed into the registry every second.
	sdk := []string{
		"temporal_request_total",
		"temporal_workflow_task_execution_latency_seconds_count",
		"temporal_workflow_task_schedule_to_start_latency_seconds_count",
		"temporal_activity_execution_latency_seconds_count",
	}
	eventually(t, 10*time.Second, "temporal sdk metrics on /metrics", func() bool {
		body := string(s.call(t, "GET", "/metrics", "", nil).Body)
		for _, name := range sdk {
			if metricSum(body, name) <= 0 {
				return false
			}
		}
		return true
	})
	body = string(s.call(t, "GET", "/metrics", "", nil).Body)
	if !strings.Contains(body, `temporal_workflow_task_execution_latency_seconds_count{`) ||
		!strings.Contains(body, `workflow_type="Verification"`) {
		t.Error("/metrics lacks the Verification workflow's task latency")
	}
}

// metricSum adds up the values of every series of the metric name in a
// Prometheus text exposition.
func metricSum(body, name string) float64 {
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		rest := strings.TrimPrefix(line, name)
		if strings.HasPrefix(rest, "{") {
			rest = rest[strings.LastIndexByte(rest, '}')+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			sum += v
		}
	}
	return sum
}
