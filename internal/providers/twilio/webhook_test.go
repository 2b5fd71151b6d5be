package twilio

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

// inbox records receipts; fail makes Ingest fail.
type inbox struct {
	got  []contract.Receipt
	fail bool
}

func (i *inbox) Ingest(_ context.Context, r contract.Receipt) error {
	if i.fail {
		return errors.New("store down")
	}
	i.got = append(i.got, r)
	return nil
}

// TestStatusWebhook drives the status callback handler the plug-in builds:
// each refusal's status, and a signed callback stored and answered 204.
func TestStatusWebhook(t *testing.T) {
	const base = "https://veriflow.example.com"
	cfg := Config{AccountSID: testAccountSID, AuthToken: testAuthToken, AuthTokenSecondary: "rotatedToken0123456789abcdef0123"}
	form := url.Values{"MessageSid": {testMessageSID}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30005"}}
	post := func(h http.Handler, body, sig string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, StatusPath, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			r.Header.Set("X-Twilio-Signature", sig)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	handler := func(c Config, in providers.Ingester) http.Handler {
		routes := c.Webhook(providers.Env{PublicBaseURL: base, Receipts: in}).Routes()
		if len(routes) != 1 || routes[0].Method != http.MethodPost || routes[0].Path != "/webhooks/twilio/status" {
			t.Fatalf("routes %+v", routes)
		}
		return routes[0].Handler
	}
	in := &inbox{}
	h := handler(cfg, in)
	for _, tc := range []struct {
		name   string
		h      http.Handler
		body   string
		sig    string
		status int
	}{
		{"not configured", handler(Config{}, in), form.Encode(), sign(testAuthToken, base+StatusPath, form), 404},
		{"unsigned", h, form.Encode(), "", 403},
		{"wrong token", h, form.Encode(), sign("wrongToken", base+StatusPath, form), 403},
		{"not a form", h, "%zz", "x", 400},
		{"too large", h, "MessageSid=" + strings.Repeat("A", MaxStatusBody), "x", 413},
		{"signed, not a callback", h, "a=b", sign(testAuthToken, base+StatusPath, url.Values{"a": {"b"}}), 400},
		{"store down", handler(cfg, &inbox{fail: true}), form.Encode(), sign(testAuthToken, base+StatusPath, form), 503},
	} {
		w := post(tc.h, tc.body, tc.sig)
		if w.Code != tc.status || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %q, want %d problem+json", tc.name, w.Code, w.Header().Get("Content-Type"), tc.status)
		}
	}
	if len(in.got) != 0 {
		t.Fatalf("refused callbacks stored %v", in.got)
	}
	for _, token := range []string{testAuthToken, cfg.AuthTokenSecondary} {
		if w := post(h, form.Encode(), sign(token, base+StatusPath, form)); w.Code != http.StatusNoContent {
			t.Fatalf("signed callback: %d %s", w.Code, w.Body)
		}
	}
	if len(in.got) != 2 || in.got[0].MessageID != testMessageSID || in.got[0].Error != contract.ReasonUnknownDestination {
		t.Fatalf("stored %+v", in.got)
	}
}

// TestConfigFromEnv reads every TWILIO_* variable into its field.
func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"TWILIO_ACCOUNT_SID": "a", "TWILIO_AUTH_TOKEN": "b", "TWILIO_AUTH_TOKEN_SECONDARY": "c",
		"TWILIO_MESSAGING_SERVICE_SID": "d", "TWILIO_FROM": "e", "TWILIO_WHATSAPP_FROM": "f", "TWILIO_WHATSAPP_CONTENT_SID": "g",
		"TWILIO_RCS_SENDER": "rcs:h",
	}
	got := ConfigFromEnv(func(k string) string { return env[k] })
	want := Config{AccountSID: "a", AuthToken: "b", AuthTokenSecondary: "c", MessagingServiceSID: "d", From: "e", WhatsAppFrom: "f", ContentSID: "g", RCSSender: "rcs:h"}
	if got != want {
		t.Fatalf("ConfigFromEnv = %+v, want %+v", got, want)
	}
}
