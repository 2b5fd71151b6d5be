package metrics

import (
	"errors"
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

func TestSendErrorsApprovalRelaysAndPosts(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	// Known label sets start at zero: five channels, two relays, three outcomes.
	if n := testutil.CollectAndCount(m.sendErrors); n != len(contract.Channels) {
		t.Errorf("send error series %d, want %d", n, len(contract.Channels))
	}
	if n := testutil.CollectAndCount(m.eventPosts); n != 3 {
		t.Errorf("event post series %d, want 3", n)
	}
	if n := testutil.CollectAndCount(m.relayLastOK); n != 0 {
		t.Errorf("relay last-success series %d before any pass, want 0 (only workers set it)", n)
	}

	t0 := time.Unix(1_700_000_000, 0).UTC()
	sent, approved := t0.Add(time.Second), t0.Add(31*time.Second)
	m.ObserveRecord(contract.KindSignup, contract.RecordInput{Events: []contract.Event{
		{Type: contract.EventSendFailed, Channel: contract.ChannelWhatsApp, Detail: "provider_error", At: t0},
		{Type: contract.EventSendFailed, Channel: "pigeon", Detail: "provider_error", At: t0},
	}})
	m.ObserveRecord(contract.KindSignup, contract.RecordInput{
		State:  contract.State{Channel: contract.ChannelSMS, Attempts: []contract.Attempt{{Channel: contract.ChannelSMS, SentAt: &sent}}},
		Events: []contract.Event{{Type: contract.EventApproved, At: approved}},
	})
	if got := testutil.ToFloat64(m.sendErrors.WithLabelValues("whatsapp")); got != 1 {
		t.Errorf("whatsapp send errors %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.sendErrors.WithLabelValues("unknown")); got != 1 {
		t.Errorf("unknown-channel send errors %v, want 1", got)
	}
	if n := testutil.CollectAndCount(m.approval); n != 1 {
		t.Errorf("approval latency series %d, want 1", n)
	}

	m.ObserveRelay(RelayReceipts, 3, nil, t0)
	m.ObserveRelay(RelayReceipts, 5, errors.New("db down"), t0.Add(time.Minute))
	if got := testutil.ToFloat64(m.relayItems.WithLabelValues(RelayReceipts)); got != 3 {
		t.Errorf("redriven %v, want 3 (a failed pass adds nothing)", got)
	}
	if got := testutil.ToFloat64(m.relayRuns.WithLabelValues(RelayReceipts, "error")); got != 1 {
		t.Errorf("relay errors %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.relayLastOK.WithLabelValues(RelayReceipts)); got != float64(t0.Unix()) {
		t.Errorf("last success %v, want %d (the failed pass leaves it)", got, t0.Unix())
	}
	m.ObserveEventPost(PostGivenUp)
	if got := testutil.ToFloat64(m.eventPosts.WithLabelValues(PostGivenUp)); got != 1 {
		t.Errorf("given up %v, want 1", got)
	}
}
