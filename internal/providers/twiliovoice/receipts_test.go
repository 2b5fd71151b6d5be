package twiliovoice

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
	"github.com/veriflow/veriflow/internal/providers/twilio"
)

func TestParseCallStatus(t *testing.T) {
	for _, tc := range []struct {
		status, answeredBy, errorCode string
		amd                           bool
		want                          contract.AttemptStatus
		reason                        contract.FailureReason
	}{
		{"queued", "", "", false, contract.AttemptQueued, ""},
		{"initiated", "", "", false, contract.AttemptSent, ""},
		{"ringing", "", "", true, contract.AttemptSent, ""},
		{"in-progress", "", "", false, contract.AttemptDelivered, ""},
		{"in-progress", "", "", true, contract.AttemptSent, ""},
		{"in-progress", "human", "", true, contract.AttemptDelivered, ""},
		{"in-progress", "machine_start", "", true, contract.AttemptFailed, contract.ReasonAnsweringMachine},
		{"completed", "", "", false, contract.AttemptDelivered, ""},
		{"completed", "", "", true, contract.AttemptDelivered, ""},
		{"completed", "unknown", "", true, contract.AttemptDelivered, ""},
		{"completed", "machine_end_beep", "", true, contract.AttemptFailed, contract.ReasonAnsweringMachine},
		{"completed", "fax", "", true, contract.AttemptFailed, contract.ReasonAnsweringMachine},
		{"busy", "", "", false, contract.AttemptFailed, contract.ReasonBusy},
		{"no-answer", "", "", false, contract.AttemptFailed, contract.ReasonNoAnswer},
		{"failed", "", "", false, contract.AttemptFailed, contract.ReasonCallFailed},
		{"failed", "", "21215", false, contract.AttemptFailed, contract.ReasonRegionNotPermitted},
		{"failed", "", "13224", false, contract.AttemptFailed, contract.ReasonCallFailed},
		{"canceled", "", "", false, contract.AttemptFailed, contract.ReasonCallCanceled},
	} {
		form := url.Values{"CallSid": {testCallSID}, "CallStatus": {tc.status}}
		if tc.answeredBy != "" {
			form.Set("AnsweredBy", tc.answeredBy)
		}
		if tc.errorCode != "" {
			form.Set("ErrorCode", tc.errorCode)
		}
		rc, err := ParseCallStatus(form, tc.amd)
		if err != nil {
			t.Errorf("%v: %v", form, err)
			continue
		}
		if rc.Status != tc.want || rc.Error != tc.reason || rc.Provider != Name || rc.MessageID != testCallSID || rc.OccurredAt.IsZero() {
			t.Errorf("%v amd=%v: %+v, want %s %s", form, tc.amd, rc, tc.want, tc.reason)
		}
	}
	for _, form := range []url.Values{
		{"CallStatus": {"completed"}},
		{"CallSid": {testCallSID}},
		{"CallSid": {testCallSID}, "CallStatus": {"answered-ish"}},
		{"CallSid": {testCallSID}, "CallStatus": {"failed"}, "ErrorCode": {"x"}},
		{"MessageSid": {"SM0123"}, "MessageStatus": {"delivered"}},
	} {
		if _, err := ParseCallStatus(form, false); !errors.Is(err, ErrInvalidCallback) {
			t.Errorf("%v: %v, want ErrInvalidCallback", form, err)
		}
	}
}

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

// TestCallStatusWebhook drives the plug-in's webhook: each refusal's
// answer, and signed callbacks (primary and secondary token) stored.
func TestCallStatusWebhook(t *testing.T) {
	const base = "https://veriflow.example.com"
	cfg := Config{AccountSID: testAccountSID, AuthToken: testAuthToken, AuthTokenSecondary: testSecondary, From: testFrom}
	form := url.Values{"CallSid": {testCallSID}, "CallStatus": {"no-answer"}, "AccountSid": {testAccountSID}, "To": {testTo}}
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
		if len(routes) != 1 || routes[0].Method != http.MethodPost || routes[0].Path != "/webhooks/twilio/voice" {
			t.Fatalf("routes %+v", routes)
		}
		return routes[0].Handler
	}
	in := &inbox{}
	h := handler(cfg, in)
	noVoice := cfg
	noVoice.From = ""
	tampered := strings.Replace(form.Encode(), "no-answer", "completed", 1)
	for _, tc := range []struct {
		name   string
		h      http.Handler
		body   string
		sig    string
		status int
	}{
		{"not configured", handler(noVoice, in), form.Encode(), sign(testAuthToken, base+StatusPath, form), 404},
		{"unsigned", h, form.Encode(), "", 403},
		{"forged", h, form.Encode(), sign("wrongToken", base+StatusPath, form), 403},
		{"signed for the sms path", h, form.Encode(), sign(testAuthToken, base+"/webhooks/twilio/status", form), 403},
		{"tampered", h, tampered, sign(testAuthToken, base+StatusPath, form), 403},
		{"not a form", h, "%zz", "x", 400},
		{"too large", h, "CallSid=" + strings.Repeat("A", twilio.MaxStatusBody), "x", 413},
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
	for _, token := range []string{testAuthToken, testSecondary} {
		if w := post(h, form.Encode(), sign(token, base+StatusPath, form)); w.Code != http.StatusNoContent {
			t.Fatalf("signed callback: %d %s", w.Code, w.Body)
		}
	}
	if len(in.got) != 2 || in.got[0].MessageID != testCallSID || in.got[0].Status != contract.AttemptFailed || in.got[0].Error != contract.ReasonNoAnswer {
		t.Fatalf("stored %+v", in.got)
	}
}

// TestAMDWebhook: with machine detection on, an answer is not delivery
// until AnsweredBy says who answered.
func TestAMDWebhook(t *testing.T) {
	const base = "https://veriflow.example.com"
	cfg := Config{AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom, MachineDetection: DetectEnable}
	in := &inbox{}
	h := cfg.Webhook(providers.Env{PublicBaseURL: base, Receipts: in}).Routes()[0].Handler
	for _, form := range []url.Values{
		{"CallSid": {testCallSID}, "CallStatus": {"in-progress"}},
		{"CallSid": {testCallSID}, "CallStatus": {"completed"}, "AnsweredBy": {"machine_end_silence"}},
	} {
		r := httptest.NewRequest(http.MethodPost, StatusPath, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Twilio-Signature", sign(testAuthToken, base+StatusPath, form))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusNoContent {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	if len(in.got) != 2 || in.got[0].Status != contract.AttemptSent || in.got[1].Error != contract.ReasonAnsweringMachine {
		t.Fatalf("stored %+v", in.got)
	}
}

// TestConfigFromEnv reads the account's and the voice variables.
func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"TWILIO_ACCOUNT_SID": "a", "TWILIO_AUTH_TOKEN": "b", "TWILIO_AUTH_TOKEN_SECONDARY": "c",
		"TWILIO_VOICE_FROM": "d", "TWILIO_VOICE_MACHINE_DETECTION": "e", "TWILIO_VOICE_SAY_VOICE": "f", "TWILIO_FROM": "x",
	}
	got := ConfigFromEnv(func(k string) string { return env[k] })
	want := Config{AccountSID: "a", AuthToken: "b", AuthTokenSecondary: "c", From: "d", MachineDetection: "e", SayVoice: "f"}
	if got != want {
		t.Fatalf("ConfigFromEnv = %+v, want %+v", got, want)
	}
	if !got.Enabled() || len(got.DefaultChannels()) != 1 || got.DefaultChannels()[0] != contract.ChannelVoice {
		t.Errorf("enabled %v, channels %v", got.Enabled(), got.DefaultChannels())
	}
	got.From = ""
	if got.Enabled() || got.DefaultChannels() != nil {
		t.Error("enabled without a voice caller id")
	}
}
