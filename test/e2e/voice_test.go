package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/providers/providerstest"
)

// spokenCode finds the code a voice call says: a <Say> of digits spaced by
// commas ("4, 8, 2, 9, 1, 3.").
var spokenCode = regexp.MustCompile(`<Say language="[a-z]{2}-[A-Z]{2}">((?:\d, ){3,9}\d)\.</Say>`)

// voiceCallback posts a Twilio call status callback signed with token.
func (s *stack) voiceCallback(t *testing.T, form url.Values, token string) response {
	t.Helper()
	sig := providerstest.TwilioSignature(token, s.server.URL+"/webhooks/twilio/voice", form)
	return s.postWebhook(t, "/webhooks/twilio/voice", "application/x-www-form-urlencoded", []byte(form.Encode()), "X-Twilio-Signature", sig)
}

// TestSMSUndeliveredFailsOverToVoice: plan sms → voice on a live tenant.
// The SMS is reported undelivered by a signed Twilio callback, Veriflow
// calls at once with inline TwiML (no URL carries the code); a forged call
// callback is refused, signed ones mark the call delivered, and the code
// the call speaks approves the verification.
func TestSMSUndeliveredFailsOverToVoice(t *testing.T) {
	s := need(t)
	v := s.start(t, s.initech, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": "+393331234567"},
		"channels": []string{"sms", "voice"}, "locale": "it"})
	s.waitFor(t, s.initech, v.ID, 10*time.Second, "sms sent", func(v verification) bool {
		return len(v.Attempts) == 1 && v.Attempts[0].Channel == "sms" && v.Attempts[0].Status == "sent"
	})
	smsSID := s.messageIDFor(t, v.ID, "twilio")
	calls := len(s.fakes.callSends())

	cb := url.Values{"MessageSid": {smsSID}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}, "AccountSid": {twilioAccountSID}}
	if r := s.twilioCallback(t, cb, twilioAuthToken); r.Status != http.StatusNoContent {
		t.Fatalf("sms callback: %d %s", r.Status, r.Body)
	}
	got := s.waitFor(t, s.initech, v.ID, 10*time.Second, "voice call placed", func(v verification) bool {
		return len(v.Attempts) == 2 && v.Attempts[1].Channel == "voice" && v.Attempts[1].Status == "sent"
	})
	if got.Attempts[0].Status != "undelivered" && got.Attempts[0].Status != "failed" {
		t.Fatalf("sms attempt %+v", got.Attempts[0])
	}
	sent := s.fakes.callSends()
	if len(sent) != calls+1 {
		t.Fatalf("%d calls placed, want 1", len(sent)-calls)
	}
	form := sent[len(sent)-1]
	if form.Get("To") != "+393331234567" || form.Get("From") != "+15005550006" ||
		form.Get("StatusCallback") != s.server.URL+"/webhooks/twilio/voice" ||
		strings.Join(form["StatusCallbackEvent"], ",") != "initiated,ringing,answered,completed" {
		t.Fatalf("calls request %v", form)
	}
	for k := range form {
		if strings.HasSuffix(k, "Url") {
			t.Errorf("the call carries a URL: %s=%q", k, form.Get(k))
		}
	}
	twiml := form.Get("Twiml")
	said := spokenCode.FindAllStringSubmatch(twiml, -1)
	if len(said) != 2 || said[0][1] != said[1][1] || !strings.Contains(twiml, `language="it-IT"`) || !strings.Contains(twiml, "Veriflow") {
		t.Fatalf("TwiML does not say the code twice in Italian with the brand: %s", twiml)
	}
	code := strings.ReplaceAll(said[0][1], ", ", "")
	callSID := s.messageIDFor(t, v.ID, "twiliovoice")

	// A forged call callback changes nothing.
	answered := url.Values{"CallSid": {callSID}, "CallStatus": {"completed"}, "AccountSid": {twilioAccountSID}, "To": {"+393331234567"}}
	if r := s.voiceCallback(t, answered, "wrong-token"); r.Status != http.StatusForbidden {
		t.Fatalf("forged voice callback: %d %s", r.Status, r.Body)
	}
	// Signed for the SMS path is not signed for the voice path.
	sig := providerstest.TwilioSignature(twilioAuthToken, s.server.URL+"/webhooks/twilio/status", answered)
	if r := s.postWebhook(t, "/webhooks/twilio/voice", "application/x-www-form-urlencoded", []byte(answered.Encode()), "X-Twilio-Signature", sig); r.Status != http.StatusForbidden {
		t.Fatalf("voice callback signed for another URL: %d %s", r.Status, r.Body)
	}
	if g := s.call(t, "GET", "/v1/verifications/"+v.ID, s.initech, nil).verification(t); len(g.Attempts) != 2 || g.Attempts[1].Status != "sent" {
		t.Fatalf("forged callback changed the verification: %+v", g)
	}

	// Genuine progress: ringing (primary token), then completed (secondary).
	ringing := url.Values{"CallSid": {callSID}, "CallStatus": {"ringing"}, "AccountSid": {twilioAccountSID}}
	if r := s.voiceCallback(t, ringing, twilioAuthToken); r.Status != http.StatusNoContent {
		t.Fatalf("ringing callback: %d %s", r.Status, r.Body)
	}
	if r := s.voiceCallback(t, answered, twilioSecondary); r.Status != http.StatusNoContent {
		t.Fatalf("completed callback: %d %s", r.Status, r.Body)
	}
	s.waitFor(t, s.initech, v.ID, 10*time.Second, "voice delivered", func(v verification) bool {
		return len(v.Attempts) == 2 && v.Attempts[1].Status == "delivered"
	})
	r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.initech, map[string]any{"code": code})
	if got := r.verification(t); r.Status != 200 || got.Status != "approved" {
		t.Fatalf("check with the spoken code: %d %s", r.Status, r.Body)
	}
}
