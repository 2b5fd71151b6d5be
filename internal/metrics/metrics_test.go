package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/veriflow/veriflow/internal/contract"
)

func TestObserveRecord(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	t0 := time.Unix(1_700_000_000, 0).UTC()
	sent, delivered := t0.Add(time.Second), t0.Add(3*time.Second)
	m.ObserveRecord(contract.KindSignup, contract.RecordInput{Events: []contract.Event{{Type: "created", At: t0}}})
	m.ObserveRecord(contract.KindSignup, contract.RecordInput{
		State: contract.State{Channel: contract.ChannelSMS, Attempts: []contract.Attempt{
			{Channel: contract.ChannelWhatsApp, Status: contract.AttemptFailed},
			{Channel: contract.ChannelSMS, Status: contract.AttemptDelivered, SentAt: &sent, DeliveredAt: &delivered},
		}},
		Events: []contract.Event{
			{Type: "failed_over", Channel: contract.ChannelWhatsApp, Detail: "not_on_whatsapp", At: sent},
			{Type: "sent", Channel: contract.ChannelSMS, Detail: "sandbox", At: sent},
			{Type: "delivered", Channel: contract.ChannelSMS, At: delivered},
			{Type: "check_failed", Detail: "wrong_code", At: delivered},
		}})
	m.ObserveRecord(contract.KindSignup, contract.RecordInput{State: contract.State{Channel: contract.ChannelSMS},
		Events: []contract.Event{{Type: "approved", At: delivered}}})
	m.ObserveHTTP("/v1/verifications", "POST", 201, 30*time.Millisecond)

	for name, want := range map[string]float64{
		"started":   testutil.ToFloat64(m.started.WithLabelValues("signup")),
		"failovers": testutil.ToFloat64(m.failovers.WithLabelValues("whatsapp", "not_on_whatsapp")),
		"sends":     testutil.ToFloat64(m.sends.WithLabelValues("sms", "sandbox")),
		"wrong":     testutil.ToFloat64(m.checks.WithLabelValues("signup", "wrong_code")),
		"approved":  testutil.ToFloat64(m.checks.WithLabelValues("signup", "approved")),
		"finished":  testutil.ToFloat64(m.finished.WithLabelValues("signup", "approved", "sms")),
		"http":      testutil.ToFloat64(m.httpRequests.WithLabelValues("/v1/verifications", "POST", "201")),
	} {
		if want != 1 {
			t.Errorf("%s = %v, want 1", name, want)
		}
	}
	if n := testutil.CollectAndCount(m.delivery); n != 1 {
		t.Errorf("delivery latency series %d, want 1", n)
	}
}
