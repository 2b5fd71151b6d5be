package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/providers/providerstest"
	"github.com/veriflow/veriflow/internal/store"
)

// postWebhook sends a raw webhook body with headers.
func (s *stack) postWebhook(t *testing.T, path, contentType string, body []byte, headers ...string) response {
	t.Helper()
	return s.call(t, "POST", path, "", body, append([]string{"Content-Type", contentType}, headers...)...)
}

func (s *stack) twilioCallback(t *testing.T, form url.Values, token string) response {
	t.Helper()
	sig := providerstest.TwilioSignature(token, s.server.URL+"/webhooks/twilio/status", form)
	return s.postWebhook(t, "/webhooks/twilio/status", "application/x-www-form-urlencoded", []byte(form.Encode()), "X-Twilio-Signature", sig)
}

func (s *stack) metaWebhook(t *testing.T, body []byte, signature string) response {
	t.Helper()
	return s.postWebhook(t, "/webhooks/whatsapp", "application/json", body, "X-Hub-Signature-256", signature)
}

var smsCode = regexp.MustCompile(`^(\d{4,10}) `)

// TestWhatsAppFailsOverToTwilioSMS is the end-to-end path: the
// WhatsApp message fails (a signed Meta webhook with 131026), Veriflow fails
// over to Twilio SMS, a signed Twilio callback confirms delivery, and the
// code from the SMS approves the verification.
func TestWhatsAppFailsOverToTwilioSMS(t *testing.T) {
	s := need(t)
	v := s.start(t, s.initech, map[string]any{"kind": "transaction", "to": map[string]string{"phone": "+393331234567"},
		"transaction": map[string]string{"amount": "149.90", "currency": "EUR", "payee": "ACME S.p.A."}})
	got := s.waitFor(t, s.initech, v.ID, 10*time.Second, "whatsapp sent", func(v verification) bool {
		return len(v.Attempts) == 1 && v.Attempts[0].Status == "sent"
	})
	// Find the Cloud API request of this verification: the last one sent.
	sends := s.fakes.metaSends()
	if len(sends) == 0 {
		t.Fatal("no Cloud API request")
	}
	metaReq := sends[len(sends)-1]
	if metaReq["to"] != "393331234567" || metaReq["type"] != "template" {
		t.Fatalf("cloud api request %v", metaReq)
	}
	wamid := s.messageIDFor(t, v.ID, "meta")

	// A forged notification changes nothing.
	failed := metaStatus(wamid, "failed", 131026)
	if r := s.metaWebhook(t, failed, providerstest.MetaSignature("not-the-secret", failed)); r.Status != http.StatusForbidden {
		t.Fatalf("forged webhook: %d %s", r.Status, r.Body)
	}
	if g := s.call(t, "GET", "/v1/verifications/"+v.ID, s.initech, nil).verification(t); len(g.Attempts) != 1 {
		t.Fatalf("forged webhook changed the verification: %+v", g)
	}
	// The genuine one fails WhatsApp over to SMS at once.
	if r := s.metaWebhook(t, failed, providerstest.MetaSignature(metaAppSecret, failed)); r.Status != http.StatusOK {
		t.Fatalf("signed webhook: %d %s", r.Status, r.Body)
	}
	got = s.waitFor(t, s.initech, v.ID, 10*time.Second, "sms sent", func(v verification) bool {
		return len(v.Attempts) == 2 && v.Attempts[1].Status == "sent"
	})
	if got.Attempts[0].Status != "failed" || got.Attempts[0].Error != "not_on_whatsapp" || got.Attempts[1].Channel != "sms" {
		t.Fatalf("attempts %+v", got.Attempts)
	}
	sms := s.fakes.twilioSends()
	if len(sms) == 0 {
		t.Fatal("no Twilio request")
	}
	form := sms[len(sms)-1]
	if form.Get("To") != "+393331234567" || form.Get("StatusCallback") != s.server.URL+"/webhooks/twilio/status" ||
		!strings.Contains(form.Get("Body"), "149,90 €") || !strings.Contains(form.Get("Body"), "ACME S.p.A.") {
		t.Fatalf("twilio request %v", form)
	}
	m := smsCode.FindStringSubmatch(form.Get("Body"))
	if m == nil {
		t.Fatalf("no code at the start of %q", form.Get("Body"))
	}
	sid := s.messageIDFor(t, v.ID, "twilio")

	// A callback signed with the secondary token (rotation) is accepted.
	cb := url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}, "AccountSid": {twilioAccountSID}, "To": {"+393331234567"}}
	if r := s.twilioCallback(t, cb, twilioSecondary); r.Status != http.StatusNoContent {
		t.Fatalf("twilio callback: %d %s", r.Status, r.Body)
	}
	s.waitFor(t, s.initech, v.ID, 10*time.Second, "sms delivered", func(v verification) bool {
		return len(v.Attempts) == 2 && v.Attempts[1].Status == "delivered"
	})
	r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.initech, map[string]any{"code": m[1],
		"transaction": map[string]string{"amount": "149.9", "currency": "EUR", "payee": "ACME S.p.A."}})
	if got := r.verification(t); r.Status != 200 || got.Status != "approved" {
		t.Fatalf("check: %d %s", r.Status, r.Body)
	}
	// A receipt for the finished verification still lands in the audit trail.
	if r := s.twilioCallback(t, url.Values{"MessageSid": {sid}, "MessageStatus": {"read"}}, twilioAuthToken); r.Status != http.StatusNoContent {
		t.Fatalf("late callback: %d %s", r.Status, r.Body)
	}
	s.waitForEvent(t, v.ID, "receipt_after_completion")
}

// messageIDFor reads the provider message id of a verification's send.
func (s *stack) messageIDFor(t *testing.T, verificationID, provider string) string {
	t.Helper()
	ids, err := s.app.Store.MessageIDs(t.Context(), verificationID, provider)
	if err != nil || len(ids) == 0 {
		t.Fatalf("no %s message for %s: %v", provider, verificationID, err)
	}
	return ids[len(ids)-1]
}

func (s *stack) waitForEvent(t *testing.T, verificationID, typ string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		events, err := s.app.Store.Events(t.Context(), verificationID)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(events, func(e store.AuditEvent) bool { return e.Type == typ }) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %s event for %s", typ, verificationID)
}

// TestWebhookSignatures sends forged, replayed, truncated, unsigned and
// oversized webhooks: each is refused (or, replayed, applied once).
func TestWebhookSignatures(t *testing.T) {
	s := need(t)
	form := url.Values{"MessageSid": {"SMunknown0000000000000000000000000"}, "MessageStatus": {"delivered"}}
	good := providerstest.TwilioSignature(twilioAuthToken, s.server.URL+"/webhooks/twilio/status", form)
	cases := []struct {
		name   string
		path   string
		ct     string
		body   []byte
		hdrs   []string
		status int
	}{
		{"twilio unsigned", "/webhooks/twilio/status", "application/x-www-form-urlencoded", []byte(form.Encode()), nil, 403},
		{"twilio forged", "/webhooks/twilio/status", "application/x-www-form-urlencoded", []byte(form.Encode()),
			[]string{"X-Twilio-Signature", providerstest.TwilioSignature("wrong-token", s.server.URL+"/webhooks/twilio/status", form)}, 403},
		{"twilio tampered", "/webhooks/twilio/status", "application/x-www-form-urlencoded",
			[]byte(strings.Replace(form.Encode(), "delivered", "failed", 1)), []string{"X-Twilio-Signature", good}, 403},
		{"twilio truncated", "/webhooks/twilio/status", "application/x-www-form-urlencoded",
			[]byte(form.Encode()[:20]), []string{"X-Twilio-Signature", good}, 403},
		{"twilio oversized", "/webhooks/twilio/status", "application/x-www-form-urlencoded",
			[]byte("MessageSid=" + strings.Repeat("A", 70<<10)), []string{"X-Twilio-Signature", good}, 413},
		{"meta unsigned", "/webhooks/whatsapp", "application/json", metaStatus("wamid.x", "delivered", 0), nil, 403},
		{"meta malformed header", "/webhooks/whatsapp", "application/json", metaStatus("wamid.x", "delivered", 0),
			[]string{"X-Hub-Signature-256", "sha256=zz"}, 403},
		{"meta truncated", "/webhooks/whatsapp", "application/json", metaStatus("wamid.x", "delivered", 0)[:40],
			[]string{"X-Hub-Signature-256", providerstest.MetaSignature(metaAppSecret, metaStatus("wamid.x", "delivered", 0))}, 403},
		{"meta oversized", "/webhooks/whatsapp", "application/json", []byte(`{"x":"` + strings.Repeat("a", 2<<20) + `"}`),
			[]string{"X-Hub-Signature-256", "sha256=00"}, 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.postWebhook(t, c.path, c.ct, c.body, c.hdrs...)
			if r.Status != c.status {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
	// A genuine receipt for a message not known yet is kept, and a replay
	// of it is harmless.
	for range 2 {
		if r := s.postWebhook(t, "/webhooks/twilio/status", "application/x-www-form-urlencoded", []byte(form.Encode()),
			"X-Twilio-Signature", good); r.Status != http.StatusNoContent {
			t.Fatalf("genuine unknown-message receipt: %d %s", r.Status, r.Body)
		}
	}
	// The Meta subscription challenge.
	q := "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=" + metaVerifyToken + "&hub.challenge=1158201444"
	if r := s.call(t, "GET", q, "", nil); r.Status != 200 || string(r.Body) != "1158201444" {
		t.Fatalf("challenge: %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", strings.Replace(q, metaVerifyToken, "guess", 1), "", nil); r.Status != 403 {
		t.Fatalf("challenge with a wrong token: %d", r.Status)
	}
}
