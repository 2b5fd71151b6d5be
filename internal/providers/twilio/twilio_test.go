package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/providers/providerstest"
)

const testMessageSID = "SM0123456789abcdef0123456789abcdef"

// capture is an httptest Twilio that records each request's form and
// answers with status and body (a created message by default).
type capture struct {
	mu     sync.Mutex
	forms  []url.Values
	paths  []string
	users  []string
	status int
	body   string
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	user, pass, _ := r.BasicAuth()
	c.mu.Lock()
	c.forms = append(c.forms, r.PostForm)
	c.paths = append(c.paths, r.Method+" "+r.URL.Path)
	if pass == testAuthToken {
		c.users = append(c.users, user)
	} else {
		c.users = append(c.users, "(wrong password)")
	}
	status, body := c.status, c.body
	c.mu.Unlock()
	if status == 0 {
		status, body = http.StatusCreated, `{"sid":"`+testMessageSID+`","status":"queued"}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body)) // the client may be gone; nothing to do
}

func (c *capture) last(t *testing.T) (string, string, url.Values) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.forms) != 1 {
		t.Fatalf("got %d requests, want 1", len(c.forms))
	}
	return c.paths[0], c.users[0], c.forms[0]
}

func newCapture(t *testing.T, status int, body string) (*capture, *http.Client) {
	t.Helper()
	c := &capture{status: status, body: body}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	hc, _ := newMockClient(t, srv.URL, nil)
	return c, hc
}

// wantForm compares a captured form with want; every field must match
// and no other field may be present.
func wantForm(t *testing.T, got url.Values, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if g := got[k]; len(g) != 1 || g[0] != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected field %s = %q", k, got[k])
		}
	}
}

func TestSendForm(t *testing.T) {
	const text = "Your Veriflow code is " + testCode
	cases := []struct {
		name string
		cfg  func(*Config)
		msg  providers.Message
		want map[string]string
	}{
		{
			name: "sms_messaging_service_preferred",
			cfg:  func(c *Config) { c.MessagingServiceSID = testServiceSID },
			msg:  providers.Message{Channel: contract.ChannelSMS, To: testTo, Text: text, Code: testCode},
			want: map[string]string{"To": testTo, "Body": text, "MessagingServiceSid": testServiceSID, "StatusCallback": testCallback},
		},
		{
			name: "sms_from",
			msg:  providers.Message{Channel: contract.ChannelSMS, To: testTo, Text: text, Code: testCode},
			want: map[string]string{"To": testTo, "Body": text, "From": testFrom, "StatusCallback": testCallback},
		},
		{
			name: "sms_without_status_callback",
			cfg:  func(c *Config) { c.StatusCallbackURL = "" },
			msg:  providers.Message{Channel: contract.ChannelSMS, To: testTo, Text: text},
			want: map[string]string{"To": testTo, "Body": text, "From": testFrom},
		},
		{
			name: "whatsapp_template_from",
			cfg:  func(c *Config) { c.MessagingServiceSID = testServiceSID }, // WhatsAppFrom wins
			msg:  providers.Message{Channel: contract.ChannelWhatsApp, To: testTo, Text: text, Code: testCode},
			want: map[string]string{
				"To":               "whatsapp:" + testTo,
				"From":             testWAFrom,
				"ContentSid":       testContentSID,
				"ContentVariables": `{"1":"` + testCode + `"}`,
				"StatusCallback":   testCallback,
			},
		},
		{
			name: "whatsapp_template_messaging_service",
			cfg: func(c *Config) {
				c.WhatsAppFrom = ""
				c.MessagingServiceSID = testServiceSID
			},
			msg: providers.Message{Channel: contract.ChannelWhatsApp, To: testTo, Code: testCode},
			want: map[string]string{
				"To":                  "whatsapp:" + testTo,
				"MessagingServiceSid": testServiceSID,
				"ContentSid":          testContentSID,
				"ContentVariables":    `{"1":"` + testCode + `"}`,
				"StatusCallback":      testCallback,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, hc := newCapture(t, 0, "")
			cfg := testConfig(hc)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			res, err := mustNew(t, cfg).Send(t.Context(), tc.msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if res.MessageID != testMessageSID {
				t.Errorf("MessageID = %q, want %q", res.MessageID, testMessageSID)
			}
			path, user, form := c.last(t)
			if want := "POST /2010-04-01/Accounts/" + testAccountSID + "/Messages.json"; path != want {
				t.Errorf("request %q, want %q", path, want)
			}
			if user != testAccountSID {
				t.Errorf("basic auth user %q, want the account SID with the auth token", user)
			}
			wantForm(t, form, tc.want)
			if tc.msg.Channel == contract.ChannelWhatsApp {
				if _, ok := form["Body"]; ok {
					t.Error("WhatsApp template message has a Body")
				}
				var vars map[string]string
				if err := json.Unmarshal([]byte(form.Get("ContentVariables")), &vars); err != nil || vars["1"] != testCode || len(vars) != 1 {
					t.Errorf("ContentVariables %q: want exactly {\"1\": code} (%v)", form.Get("ContentVariables"), err)
				}
			}
		})
	}
}

// twilioError is a Twilio-shaped JSON error body.
func twilioError(status, code int, message string) string {
	b, err := json.Marshal(map[string]any{
		"code": code, "message": message, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestSendErrorMapping(t *testing.T) {
	cases := []struct {
		name       string
		channel    contract.Channel
		status     int
		body       string
		permanent  bool
		reason     string
		wantCode   int
		wantStatus int
	}{
		{"invalid_number", contract.ChannelSMS, 400, twilioError(400, 21211, "The 'To' number "+testTo+" is not a valid phone number."), true, "invalid_number", 21211, 400},
		{"not_a_mobile_number", contract.ChannelSMS, 400, twilioError(400, 21614, "'To' number "+testTo+" is not a valid mobile number"), true, "not_a_mobile_number", 21614, 400},
		{"unsubscribed", contract.ChannelSMS, 400, twilioError(400, 21610, "Attempt to send to unsubscribed recipient"), true, "unsubscribed", 21610, 400},
		{"region_not_permitted", contract.ChannelSMS, 400, twilioError(400, 21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: "+testTo), true, "region_not_permitted", 21408, 400},
		{"unreachable_route", contract.ChannelSMS, 400, twilioError(400, 21612, "The 'To' phone number: "+testTo+", is not currently reachable"), true, "unreachable_route", 21612, 400},
		{"sender_misconfigured_21606", contract.ChannelSMS, 400, twilioError(400, 21606, "The 'From' phone number provided is not a valid message-capable Twilio phone number"), true, "sender_misconfigured", 21606, 400},
		{"sender_misconfigured_21659", contract.ChannelSMS, 400, twilioError(400, 21659, "'From' is not a Twilio phone number"), true, "sender_misconfigured", 21659, 400},
		{"not_on_whatsapp", contract.ChannelWhatsApp, 400, twilioError(400, 63003, "Channel could not find To address"), true, "not_on_whatsapp", 63003, 400},
		{"invalid_recipient", contract.ChannelWhatsApp, 400, twilioError(400, 63024, "Invalid message recipient"), true, "invalid_recipient", 63024, 400},
		{"whatsapp_rate_limit_retried", contract.ChannelWhatsApp, 400, twilioError(400, 63018, "Rate limit exceeded"), false, "", 63018, 400},
		{"other_4xx_rejected", contract.ChannelSMS, 400, twilioError(400, 21602, "Message body is required."), true, "provider_rejected", 21602, 400},
		{"not_found_rejected", contract.ChannelSMS, 404, twilioError(404, 20404, "The requested resource was not found"), true, "provider_rejected", 20404, 404},
		{"auth_rejected", contract.ChannelSMS, 401, twilioError(401, 20003, "Authenticate"), true, "provider_rejected", 20003, 401},
		{"non_json_404_rejected", contract.ChannelSMS, 404, "<html>not found</html>", true, "provider_rejected", 0, 404},
		{"too_many_requests", contract.ChannelSMS, 429, twilioError(429, 20429, "Too Many Requests"), false, "", 20429, 429},
		{"server_error", contract.ChannelSMS, 500, twilioError(500, 20500, "Internal Server Error"), false, "", 20500, 500},
		{"bad_gateway_html", contract.ChannelWhatsApp, 502, "<html>bad gateway</html>", false, "", 0, 502},
		{"service_unavailable", contract.ChannelSMS, 503, twilioError(503, 20503, "Service Unavailable"), false, "", 20503, 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, hc := newCapture(t, tc.status, tc.body)
			p := mustNew(t, testConfig(hc))
			_, err := p.Send(t.Context(), providers.Message{Channel: tc.channel, To: testTo, Text: "code " + testCode, Code: testCode})
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			var perm *providers.PermanentError
			if got := errors.As(err, &perm); got != tc.permanent {
				t.Fatalf("permanent = %v, want %v: %v", got, tc.permanent, err)
			}
			if tc.permanent && string(perm.Reason) != tc.reason {
				t.Errorf("Reason = %q, want %q", perm.Reason, tc.reason)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v does not wrap *APIError", err)
			}
			if apiErr.Code != tc.wantCode || apiErr.HTTPStatus != tc.wantStatus {
				t.Errorf("APIError{Code: %d, HTTPStatus: %d}, want {%d, %d}", apiErr.Code, apiErr.HTTPStatus, tc.wantCode, tc.wantStatus)
			}
			assertClean(t, err)
		})
	}
}

// assertClean checks that an error string reveals neither secrets nor PII.
func assertClean(t *testing.T, err error) {
	t.Helper()
	s := err.Error()
	for _, secret := range []string{testCode, testAuthToken, testTo} {
		if strings.Contains(s, secret) {
			t.Errorf("error %q contains %q", s, secret)
		}
	}
}

func TestSendTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	t.Run("ctx_deadline", func(t *testing.T) {
		hc, _ := newMockClient(t, srv.URL, nil)
		p := mustNew(t, testConfig(hc))
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := p.Send(ctx, providers.Message{Channel: contract.ChannelSMS, To: testTo, Text: "code " + testCode})
		if err == nil {
			t.Fatal("Send succeeded, want a timeout")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %s: the ctx deadline was not honoured", d)
		}
		var perm *providers.PermanentError
		if errors.As(err, &perm) {
			t.Fatalf("timeout is permanent: %v", err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
		}
		assertClean(t, err)
	})

	t.Run("http_client_timeout", func(t *testing.T) {
		hc, _ := newMockClient(t, srv.URL, nil)
		hc.Timeout = 200 * time.Millisecond
		p := mustNew(t, testConfig(hc))
		_, err := p.Send(context.Background(), providers.Message{Channel: contract.ChannelWhatsApp, To: testTo, Code: testCode})
		if err == nil {
			t.Fatal("Send succeeded, want a timeout")
		}
		var perm *providers.PermanentError
		if errors.As(err, &perm) {
			t.Fatalf("timeout is permanent: %v", err)
		}
		assertClean(t, err)
	})

	t.Run("ctx_already_done", func(t *testing.T) {
		hc, _ := newMockClient(t, srv.URL, nil)
		p := mustNew(t, testConfig(hc))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := p.Send(ctx, providers.Message{Channel: contract.ChannelSMS, To: testTo, Text: "x"})
		var perm *providers.PermanentError
		if err == nil || errors.As(err, &perm) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v, want a retryable error wrapping context.Canceled", err)
		}
	})
}

func TestSendNetworkErrorIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	hc, _ := newMockClient(t, addr, nil)
	p := mustNew(t, testConfig(hc))
	_, err := p.Send(t.Context(), providers.Message{Channel: contract.ChannelSMS, To: testTo, Text: "code " + testCode})
	var perm *providers.PermanentError
	if err == nil || errors.As(err, &perm) {
		t.Fatalf("Send = %v, want a retryable error", err)
	}
	assertClean(t, err)
}

func TestSendPermanentWithoutRequest(t *testing.T) {
	smsOnly := Config{AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom}
	waOnly := Config{AccountSID: testAccountSID, AuthToken: testAuthToken, WhatsAppFrom: testWAFrom, ContentSID: testContentSID}
	cases := []struct {
		name   string
		cfg    Config
		msg    providers.Message
		reason string
	}{
		{"email", smsOnly, providers.Message{Channel: contract.ChannelEmail, To: "ada@example.com", Text: "x"}, "channel_not_supported"},
		{"unknown_channel", smsOnly, providers.Message{Channel: "pigeon", To: testTo, Text: "x"}, "channel_not_supported"},
		{"whatsapp_not_configured", smsOnly, providers.Message{Channel: contract.ChannelWhatsApp, To: testTo, Code: testCode}, "channel_not_configured"},
		{"sms_not_configured", waOnly, providers.Message{Channel: contract.ChannelSMS, To: testTo, Text: "x"}, "channel_not_configured"},
		{"sms_not_e164", smsOnly, providers.Message{Channel: contract.ChannelSMS, To: "3331234567", Text: "x"}, "invalid_number"},
		{"whatsapp_not_e164", waOnly, providers.Message{Channel: contract.ChannelWhatsApp, To: "whatsapp:" + testTo, Code: testCode}, "invalid_number"},
		{"sms_without_text", smsOnly, providers.Message{Channel: contract.ChannelSMS, To: testTo}, "invalid_message"},
		{"whatsapp_without_code", waOnly, providers.Message{Channel: contract.ChannelWhatsApp, To: testTo, Text: "x"}, "invalid_message"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, hc := newCapture(t, 0, "")
			tc.cfg.HTTPClient = hc
			_, err := mustNew(t, tc.cfg).Send(t.Context(), tc.msg)
			var perm *providers.PermanentError
			if !errors.As(err, &perm) || string(perm.Reason) != tc.reason {
				t.Fatalf("Send = %v, want PermanentError %q", err, tc.reason)
			}
			if len(c.forms) != 0 {
				t.Errorf("sent %d requests, want none", len(c.forms))
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	ok := testConfig(nil)
	cases := []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"valid", func(*Config) {}, true},
		{"sms_only_service", func(c *Config) {
			*c = Config{AccountSID: testAccountSID, AuthToken: testAuthToken, MessagingServiceSID: testServiceSID}
		}, true},
		{"whatsapp_via_service", func(c *Config) {
			*c = Config{AccountSID: testAccountSID, AuthToken: testAuthToken, MessagingServiceSID: testServiceSID, ContentSID: testContentSID}
		}, true},
		{"bad_account_sid", func(c *Config) { c.AccountSID = "AC123" }, false},
		{"missing_token", func(c *Config) { c.AuthToken = "" }, false},
		{"token_with_symbols", func(c *Config) { c.AuthToken = "abc-def" }, false},
		{"bad_service_sid", func(c *Config) { c.MessagingServiceSID = "MG123" }, false},
		{"bad_from", func(c *Config) { c.From = "15005550006" }, false},
		{"bad_whatsapp_from", func(c *Config) { c.WhatsAppFrom = testFrom }, false},
		{"whatsapp_without_template", func(c *Config) { c.ContentSID = "" }, false},
		{"bad_content_sid", func(c *Config) { c.ContentSID = "HX12" }, false},
		{"template_without_sender", func(c *Config) {
			*c = Config{AccountSID: testAccountSID, AuthToken: testAuthToken, ContentSID: testContentSID}
		}, false},
		{"no_channel", func(c *Config) { *c = Config{AccountSID: testAccountSID, AuthToken: testAuthToken} }, false},
		{"relative_callback", func(c *Config) { c.StatusCallbackURL = "/webhooks/twilio/status" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mutate(&cfg)
			p, err := New(cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("New: err = %v, want ok = %v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), testAuthToken) {
				t.Errorf("error quotes the auth token: %v", err)
			}
			if p != nil && p.Name() != "twilio" {
				t.Errorf("Name() = %q", p.Name())
			}
		})
	}
}

func TestErrorReason(t *testing.T) {
	providerstest.CheckErrorTable(t, ErrorReason, `
		21211 invalid_number yes
		21614 not_a_mobile_number yes
		21610 unsubscribed yes
		21408 region_not_permitted yes
		21612 unreachable_route yes
		21606 sender_misconfigured yes
		21659 sender_misconfigured yes
		63003 not_on_whatsapp yes
		63024 invalid_recipient yes
		63032 recipient_restricted yes
		63016 outside_session_window yes
		63018 rate_limited no
		30003 unreachable no
		30005 unknown_destination yes
		30006 landline_or_unreachable_carrier yes
		30007 carrier_filtered yes
		30008 unknown_error no
		0 - no
		20429 - no
		99999 - no`)
}
