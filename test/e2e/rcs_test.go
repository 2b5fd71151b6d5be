package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// e2eRCSSender is the RCS sender of the e2e deployment's Twilio.
const e2eRCSSender = "rcs:initech_otp_agent"

// twilioSendTo returns the last recorded Twilio request to the address to.
func (s *stack) twilioSendTo(t *testing.T, to string) url.Values {
	t.Helper()
	for _, f := range slices.Backward(s.fakes.twilioSends()) {
		if f.Get("To") == to {
			return f
		}
	}
	t.Fatalf("no Twilio request to %s", to)
	return nil
}

// TestRCSNotCapableFailsOverToSMS: a plan rcs → sms on a live tenant. Twilio
// takes the direct RCS message (RCS sender → rcs: address), a forged
// callback is refused, the signed "undelivered, 63036" callback (device not
// reachable over RCS) fails over to SMS at once (long before the channel
// timeout), a signed callback delivers the SMS and its code approves.
func TestRCSNotCapableFailsOverToSMS(t *testing.T) {
	s := need(t)
	const phone = "+393337654321"
	v := s.start(t, s.initech, map[string]any{"kind": "signup", "to": map[string]string{"phone": phone},
		"channels": []string{"rcs", "sms"}, "channel_timeout_seconds": 600})
	s.waitFor(t, s.initech, v.ID, 10*time.Second, "rcs sent", func(v verification) bool {
		return len(v.Attempts) == 1 && v.Attempts[0].Channel == "rcs" && v.Attempts[0].Status == "sent"
	})
	rcs := s.twilioSendTo(t, "rcs:"+phone)
	if rcs.Get("From") != e2eRCSSender || rcs.Get("StatusCallback") != s.server.URL+"/webhooks/twilio/status" ||
		rcs.Has("MessagingServiceSid") || rcs.Has("FallbackFrom") || smsCode.FindStringSubmatch(rcs.Get("Body")) == nil {
		t.Fatalf("rcs request %v", rcs)
	}
	sid := s.messageIDFor(t, v.ID, "twilio")

	notCapable := url.Values{"MessageSid": {sid}, "MessageStatus": {"undelivered"}, "ErrorCode": {"63036"},
		"AccountSid": {twilioAccountSID}, "From": {e2eRCSSender}, "To": {"rcs:" + phone}}
	// A forged callback changes nothing.
	if r := s.twilioCallback(t, notCapable, "not-the-auth-token"); r.Status != http.StatusForbidden {
		t.Fatalf("forged rcs callback: %d %s", r.Status, r.Body)
	}
	if g := s.call(t, "GET", "/v1/verifications/"+v.ID, s.initech, nil).verification(t); len(g.Attempts) != 1 || g.Attempts[0].Status != "sent" {
		t.Fatalf("forged callback changed the verification: %+v", g.Attempts)
	}
	// The genuine one fails RCS over to SMS at once.
	if r := s.twilioCallback(t, notCapable, twilioAuthToken); r.Status != http.StatusNoContent {
		t.Fatalf("signed rcs callback: %d %s", r.Status, r.Body)
	}
	got := s.waitFor(t, s.initech, v.ID, 10*time.Second, "sms sent", func(v verification) bool {
		return len(v.Attempts) == 2 && v.Attempts[1].Status == "sent"
	})
	if a := got.Attempts[0]; a.Status != "undelivered" || a.Error != "rcs_not_capable" || got.Attempts[1].Channel != "sms" {
		t.Fatalf("attempts %+v", got.Attempts)
	}
	sms := s.twilioSendTo(t, phone)
	if sms.Get("From") != "+15005550006" || strings.HasPrefix(sms.Get("From"), "rcs:") {
		t.Fatalf("sms request %v", sms)
	}
	m := smsCode.FindStringSubmatch(sms.Get("Body"))
	if m == nil {
		t.Fatalf("no code at the start of %q", sms.Get("Body"))
	}
	smsSID := s.messageIDFor(t, v.ID, "twilio")
	if smsSID == sid {
		t.Fatalf("the SMS has the RCS message's SID %s", sid)
	}
	delivered := url.Values{"MessageSid": {smsSID}, "MessageStatus": {"delivered"}, "AccountSid": {twilioAccountSID}, "To": {phone}}
	if r := s.twilioCallback(t, delivered, twilioAuthToken); r.Status != http.StatusNoContent {
		t.Fatalf("sms callback: %d %s", r.Status, r.Body)
	}
	s.waitFor(t, s.initech, v.ID, 10*time.Second, "sms delivered", func(v verification) bool {
		return len(v.Attempts) == 2 && v.Attempts[1].Status == "delivered"
	})
	r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.initech, map[string]any{"code": m[1]})
	if got := r.verification(t); r.Status != http.StatusOK || got.Status != "approved" {
		t.Fatalf("check: %d %s", r.Status, r.Body)
	}
}
