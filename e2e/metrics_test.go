package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestMetricsMove: /metrics shows HTTP traffic and the business metrics of
// the verifications the suite ran.
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
}
