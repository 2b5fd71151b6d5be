package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/providers/providerstest"
)

// TestLiveWhatsAppNotReadFailsOverToRCS is the read goal on the live path:
// the Cloud API delivers the WhatsApp message (a signed Meta webhook) but
// nobody reads it, so after the channel timeout Veriflow sends over RCS
// through Twilio; a signed Twilio callback says the RCS message was read,
// the plan stays there, and the code from the RCS message approves.
func TestLiveWhatsAppNotReadFailsOverToRCS(t *testing.T) {
	s := need(t)
	const phone = "+393331234568"
	v := s.start(t, s.initech, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": phone},
		"channels": []string{"whatsapp", "rcs", "sms"}, "channel_goal": "read", "channel_timeout_seconds": 5})
	s.waitFor(t, s.initech, v.ID, 10*time.Second, "whatsapp sent", func(v verification) bool {
		return len(v.Attempts) == 1 && v.Attempts[0].Channel == "whatsapp" && v.Attempts[0].Status == "sent"
	})
	wamid := s.messageIDFor(t, v.ID, "meta")
	delivered := metaStatus(wamid, "delivered", 0)
	if r := s.metaWebhook(t, delivered, providerstest.MetaSignature(metaAppSecret, delivered)); r.Status != http.StatusOK {
		t.Fatalf("meta delivered: %d %s", r.Status, r.Body)
	}
	got := s.waitFor(t, s.initech, v.ID, 15*time.Second, "rcs sent after the timeout", func(v verification) bool {
		return len(v.Attempts) == 2 && v.Attempts[1].Channel == "rcs" && v.Attempts[1].Status == "sent"
	})
	if a := got.Attempts[0]; a.Status != "delivered" || a.Error != "not_read" {
		t.Fatalf("whatsapp attempt %+v", a)
	}
	rcs := s.twilioSendTo(t, "rcs:"+phone)
	m := smsCode.FindStringSubmatch(rcs.Get("Body"))
	if rcs.Get("From") != e2eRCSSender || m == nil {
		t.Fatalf("rcs request %v", rcs)
	}
	sid := s.messageIDFor(t, v.ID, "twilio")
	read := url.Values{"MessageSid": {sid}, "MessageStatus": {"read"}, "AccountSid": {twilioAccountSID}, "To": {"rcs:" + phone}}
	if r := s.twilioCallback(t, read, twilioAuthToken); r.Status != http.StatusNoContent {
		t.Fatalf("rcs read callback: %d %s", r.Status, r.Body)
	}
	s.waitFor(t, s.initech, v.ID, 10*time.Second, "rcs read", func(v verification) bool {
		return len(v.Attempts) == 2 && v.Attempts[1].Status == "read"
	})
	r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.initech, map[string]any{"code": m[1]})
	if got := r.verification(t); r.Status != http.StatusOK || got.Status != "approved" || len(got.Attempts) != 2 {
		t.Fatalf("check: %d %s", r.Status, r.Body)
	}
}
