package twilio

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/providers/providerstest"
)

// testRCSSender is an RCS sender in Twilio's address form.
const testRCSSender = "rcs:acme_otp_agent"

// TestSendRCSForm checks the request of a direct RCS message: From the RCS
// sender, To the "rcs:" address, the SMS text as Body, the status
// callback, and never a Messaging Service (Twilio would fall back to SMS).
func TestSendRCSForm(t *testing.T) {
	const text = "482913 is your Veriflow code."
	msg := providers.Message{Channel: contract.ChannelRCS, To: testTo, Text: text, Code: testCode}
	want := map[string]string{"From": testRCSSender, "To": "rcs:" + testTo, "Body": text, "StatusCallback": testCallback}
	cases := []struct {
		name string
		cfg  func(*Config)
		want map[string]string
	}{
		{"sender_address", func(c *Config) { c.RCSSender = testRCSSender }, want},
		{"bare_sender_id", func(c *Config) { c.RCSSender = "acme_otp_agent" }, want},
		{"messaging_service_not_used", func(c *Config) {
			c.RCSSender, c.MessagingServiceSID = testRCSSender, testServiceSID
		}, want},
		{"rcs_only_without_callback", func(c *Config) {
			*c = Config{AccountSID: testAccountSID, AuthToken: testAuthToken, RCSSender: testRCSSender, HTTPClient: c.HTTPClient}
		}, map[string]string{"From": testRCSSender, "To": "rcs:" + testTo, "Body": text}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, hc := newCapture(t, 0, "")
			cfg := testConfig(hc)
			tc.cfg(&cfg)
			res, err := mustNew(t, cfg).Send(t.Context(), msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if res.MessageID != testMessageSID {
				t.Errorf("MessageID = %q, want %q", res.MessageID, testMessageSID)
			}
			path, user, form := c.last(t)
			if want := "POST /2010-04-01/Accounts/" + testAccountSID + "/Messages.json"; path != want || user != testAccountSID {
				t.Errorf("request %q by %q, want %q by the account", path, user, want)
			}
			wantForm(t, form, tc.want)
		})
	}
}

// TestSendRCSPermanentWithoutRequest: RCS without an RCS sender (even with
// a Messaging Service), a destination that is not E.164 and an empty text
// fail at once, without a request.
func TestSendRCSPermanentWithoutRequest(t *testing.T) {
	service := Config{AccountSID: testAccountSID, AuthToken: testAuthToken, MessagingServiceSID: testServiceSID}
	rcs := Config{AccountSID: testAccountSID, AuthToken: testAuthToken, RCSSender: testRCSSender}
	cases := []struct {
		name   string
		cfg    Config
		msg    providers.Message
		reason contract.FailureReason
	}{
		{"messaging_service_only", service, providers.Message{Channel: contract.ChannelRCS, To: testTo, Text: "x"}, contract.ReasonChannelNotConfigured},
		{"rcs_address_as_destination", rcs, providers.Message{Channel: contract.ChannelRCS, To: "rcs:" + testTo, Text: "x"}, contract.ReasonInvalidNumber},
		{"without_text", rcs, providers.Message{Channel: contract.ChannelRCS, To: testTo, Code: testCode}, contract.ReasonInvalidMessage},
		{"sms_not_configured", rcs, providers.Message{Channel: contract.ChannelSMS, To: testTo, Text: "x"}, contract.ReasonChannelNotConfigured},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, hc := newCapture(t, 0, "")
			tc.cfg.HTTPClient = hc
			_, err := mustNew(t, tc.cfg).Send(t.Context(), tc.msg)
			var perm *providers.PermanentError
			if !errors.As(err, &perm) || perm.Reason != tc.reason {
				t.Fatalf("Send = %v, want PermanentError %q", err, tc.reason)
			}
			if len(c.forms) != 0 {
				t.Errorf("sent %d requests, want none", len(c.forms))
			}
		})
	}
}

// TestRCSSenderValidation: the accepted forms of RCSSender.
func TestRCSSenderValidation(t *testing.T) {
	base := Config{AccountSID: testAccountSID, AuthToken: testAuthToken}
	for _, tc := range []struct {
		sender string
		ok     bool
	}{
		{"rcs:acme_otp_agent", true},
		{"acme_otp_agent", true},
		{"rcs:Acme-OTP.agent_2", true},
		{"rcs:", false},
		{"rcs:acme agent", false},
		{"whatsapp:+15005550006", false},
		{"+15005550006", false},
		{"rcs:" + strings.Repeat("a", 129), false},
	} {
		cfg := base
		cfg.RCSSender = tc.sender
		if _, err := New(cfg); (err == nil) != tc.ok {
			t.Errorf("RCSSender %q: err = %v, want ok = %v", tc.sender, err, tc.ok)
		}
	}
}

// TestSendRCSErrorMapping: Twilio's synchronous RCS refusals are permanent
// rcs_not_capable failures (the plan fails over at once).
func TestSendRCSErrorMapping(t *testing.T) {
	for _, code := range []int{63035, 63036} {
		_, hc := newCapture(t, http.StatusBadRequest, twilioError(400, code, "The 'To' "+testTo+" cannot be reached using RCS"))
		cfg := testConfig(hc)
		cfg.RCSSender = testRCSSender
		_, err := mustNew(t, cfg).Send(t.Context(), providers.Message{Channel: contract.ChannelRCS, To: testTo, Text: "code " + testCode, Code: testCode})
		var perm *providers.PermanentError
		if !errors.As(err, &perm) || perm.Reason != contract.ReasonRCSNotCapable {
			t.Fatalf("%d: Send = %v, want PermanentError rcs_not_capable", code, err)
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Code != code {
			t.Errorf("%d: error %v does not carry the code", code, err)
		}
		assertClean(t, err)
	}
}

func TestRCSErrorReason(t *testing.T) {
	providerstest.CheckErrorTable(t, ErrorReason, `
		63035 rcs_not_capable yes
		63036 rcs_not_capable yes
		63106 rcs_not_capable yes`)
}

// TestRCSStatusCallbacks: the status callbacks of an RCS message (Twilio
// sends the same form as for SMS, with rcs: addresses) — read, and the RCS
// refusals as undelivered/failed with rcs_not_capable — through the signed
// webhook.
func TestRCSStatusCallbacks(t *testing.T) {
	const base = "https://veriflow.example.com"
	in := &inbox{}
	routes := Config{AccountSID: testAccountSID, AuthToken: testAuthToken, RCSSender: testRCSSender}.
		Webhook(providers.Env{PublicBaseURL: base, Receipts: in}).Routes()
	h := routes[0].Handler
	cases := []struct {
		status, code string
		want         contract.AttemptStatus
		reason       contract.FailureReason
	}{
		{"delivered", "", contract.AttemptDelivered, ""},
		{"read", "", contract.AttemptRead, ""},
		{"undelivered", "63036", contract.AttemptUndelivered, contract.ReasonRCSNotCapable},
		{"failed", "63035", contract.AttemptFailed, contract.ReasonRCSNotCapable},
	}
	for _, tc := range cases {
		form := url.Values{"MessageSid": {testMessageSID}, "MessageStatus": {tc.status}, "SmsStatus": {tc.status},
			"From": {testRCSSender}, "To": {"rcs:" + testTo}, "AccountSid": {testAccountSID}}
		if tc.code != "" {
			form.Set("ErrorCode", tc.code)
		}
		r, err := ParseStatusCallback(form)
		if err != nil || r.Status != tc.want || r.Error != tc.reason {
			t.Errorf("%s %s: receipt %+v, %v; want %s %q", tc.status, tc.code, r, err, tc.want, tc.reason)
		}
		for _, token := range []string{"wrongToken", testAuthToken} {
			req := httptest.NewRequest(http.MethodPost, StatusPath, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", sign(token, base+StatusPath, form))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if want := map[bool]int{true: http.StatusNoContent, false: http.StatusForbidden}[token == testAuthToken]; w.Code != want {
				t.Errorf("%s %s signed with %s: %d, want %d", tc.status, tc.code, token, w.Code, want)
			}
		}
	}
	if len(in.got) != len(cases) {
		t.Fatalf("stored %d receipts, want %d (forged ones refused)", len(in.got), len(cases))
	}
	for i, tc := range cases {
		if in.got[i].Status != tc.want || in.got[i].Error != tc.reason {
			t.Errorf("stored %+v, want %s %q", in.got[i], tc.want, tc.reason)
		}
	}
}

// TestRCSRouting: RCS is a channel of the plug-in, and routed to Twilio by
// default only when an RCS sender is configured.
func TestRCSRouting(t *testing.T) {
	if !slices.Contains(Plugin().Channels, contract.ChannelRCS) {
		t.Errorf("Plugin().Channels = %v, want rcs among them", Plugin().Channels)
	}
	creds := Config{AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom}
	if got := creds.DefaultChannels(); slices.Contains(got, contract.ChannelRCS) {
		t.Errorf("DefaultChannels without an RCS sender = %v", got)
	}
	creds.RCSSender = testRCSSender
	if got, want := creds.DefaultChannels(), []contract.Channel{contract.ChannelRCS, contract.ChannelSMS}; !slices.Equal(got, want) {
		t.Errorf("DefaultChannels = %v, want %v", got, want)
	}
	creds.ContentSID = testContentSID
	if got, want := creds.DefaultChannels(), []contract.Channel{contract.ChannelWhatsApp, contract.ChannelRCS, contract.ChannelSMS}; !slices.Equal(got, want) {
		t.Errorf("DefaultChannels = %v, want %v", got, want)
	}
}
