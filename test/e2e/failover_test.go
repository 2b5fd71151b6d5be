package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestProviderFailoverMetaDownTwilioDelivers: tenant failco routes
// WhatsApp "meta,twilio". The Cloud API answers 503 for this destination;
// the workflow's retry of SendCode goes to Twilio's WhatsApp sender and the
// code is sent within the step (real Temporal, real Postgres). Twilio's
// receipts then arrive duplicated and out of order (delivered, delivered,
// sent, read): the attempt moves forward only (read), each applied once.
// Only one Meta failure is drawn, below the breaker's threshold, so the
// suite's other Meta users are not affected.
func TestProviderFailoverMetaDownTwilioDelivers(t *testing.T) {
	s := need(t)
	const phone = "+393339990001"
	s.fakes.mu.Lock()
	s.fakes.metaDown["393339990001"] = true
	refusedBefore := s.fakes.metaRefused
	s.fakes.mu.Unlock()
	t.Cleanup(func() {
		s.fakes.mu.Lock()
		delete(s.fakes.metaDown, "393339990001")
		s.fakes.mu.Unlock()
	})

	start := time.Now()
	v := s.start(t, s.failco, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": phone}, "channels": []string{"whatsapp"}})
	got := s.waitFor(t, s.failco, v.ID, 15*time.Second, "whatsapp sent", func(v verification) bool {
		return len(v.Attempts) == 1 && v.Attempts[0].Status == "sent"
	})
	t.Logf("meta down: whatsapp sent through twilio after %v", time.Since(start))
	if got.Attempts[0].Channel != "whatsapp" {
		t.Fatalf("attempts %+v", got.Attempts)
	}
	s.fakes.mu.Lock()
	refused := s.fakes.metaRefused - refusedBefore
	s.fakes.mu.Unlock()
	if refused != 1 {
		t.Errorf("meta refused %d sends of this verification, want 1", refused)
	}
	sid := s.messageIDFor(t, v.ID, "twilio")
	if ids, err := s.app.Store.MessageIDs(t.Context(), v.ID, "meta"); err != nil || len(ids) != 0 {
		t.Fatalf("meta message registered: %v %v", ids, err)
	}

	for _, status := range []string{"delivered", "delivered", "sent", "read"} {
		cb := url.Values{"MessageSid": {sid}, "MessageStatus": {status}, "AccountSid": {twilioAccountSID}, "To": {"whatsapp:" + phone}}
		if r := s.twilioCallback(t, cb, twilioAuthToken); r.Status != http.StatusNoContent {
			t.Fatalf("twilio callback %s: %d %s", status, r.Status, r.Body)
		}
	}
	got = s.waitFor(t, s.failco, v.ID, 10*time.Second, "whatsapp read", func(v verification) bool {
		return len(v.Attempts) == 1 && v.Attempts[0].Status == "read"
	})
	if len(got.Attempts) != 1 || got.Attempts[0].Error != "" {
		t.Fatalf("attempts %+v", got.Attempts)
	}
	// Each receipt applied once, in rank order: one delivered, one read,
	// one sent (the send's own), no event for the late "sent" receipt.
	evs, err := s.app.Store.Events(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range evs {
		count[e.Type]++
	}
	if count["delivered"] != 1 || count["read"] != 1 || count["sent"] != 1 || count["send_failed"] != 0 || count["failed_over"] != 0 {
		t.Errorf("events %v", count)
	}
}
