package twiliovoice

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/providers/twilio"
)

// fakeCalls is a Calls API that records the requests and answers with
// status and body.
type fakeCalls struct {
	mu     sync.Mutex
	forms  []url.Values
	paths  []string
	auth   []string
	status int
	body   string
}

func (f *fakeCalls) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	user, pass, _ := r.BasicAuth()
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	f.auth = append(f.auth, user+":"+pass)
	status, body := f.status, f.body
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if status == 0 {
		status, body = http.StatusCreated, `{"sid":"`+testCallSID+`","status":"queued"}`
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func voiceMessage() providers.Message {
	return providers.Message{Channel: contract.ChannelVoice, To: testTo, Locale: "en", Code: "482913", Text: testScript}
}

// TestSendRequestShape: the Calls request carries the inline TwiML, the
// caller id, the status callback and its events, and no URL at all.
func TestSendRequestShape(t *testing.T) {
	for _, amd := range []string{"", DetectEnable, DetectMessageEnd} {
		t.Run("amd="+amd, func(t *testing.T) {
			f := &fakeCalls{}
			srv := httptest.NewServer(f)
			defer srv.Close()
			cfg := testConfig(clientTo(t, srv.URL))
			cfg.MachineDetection = amd
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := p.Send(t.Context(), voiceMessage())
			if err != nil || res.MessageID != testCallSID {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			if len(f.forms) != 1 {
				t.Fatalf("%d requests", len(f.forms))
			}
			form := f.forms[0]
			if f.paths[0] != "POST /2010-04-01/Accounts/"+testAccountSID+"/Calls.json" || f.auth[0] != testAccountSID+":"+testAuthToken {
				t.Errorf("request %s as %s", f.paths[0], f.auth[0])
			}
			want, _ := TwiML(testScript, "en", "")
			if form.Get("Twiml") != want || form.Get("To") != testTo || form.Get("From") != testFrom {
				t.Errorf("form %v", form)
			}
			if form.Get("StatusCallback") != testCallback || form.Get("StatusCallbackMethod") != "POST" ||
				strings.Join(form["StatusCallbackEvent"], ",") != "initiated,ringing,answered,completed" {
				t.Errorf("callback %v", form)
			}
			if form.Get("MachineDetection") != amd {
				t.Errorf("MachineDetection %q, want %q", form.Get("MachineDetection"), amd)
			}
			for k, vs := range form {
				if k == "Twiml" {
					continue
				}
				for _, v := range vs {
					if strings.Contains(v, "4, 8, 2") || strings.Contains(v, "482913") {
						t.Errorf("%s carries the code: %q", k, v)
					}
				}
				if strings.HasSuffix(k, "Url") || k == "ApplicationSid" {
					t.Errorf("a URL parameter %s=%v", k, vs)
				}
			}
		})
	}
}

// TestSendWithoutCallback: no public base URL, no StatusCallback at all.
func TestSendWithoutCallback(t *testing.T) {
	f := &fakeCalls{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := testConfig(clientTo(t, srv.URL))
	cfg.StatusCallbackURL = ""
	p, _ := New(cfg)
	if _, err := p.Send(t.Context(), voiceMessage()); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"StatusCallback", "StatusCallbackEvent", "StatusCallbackMethod", "MachineDetection"} {
		if _, ok := f.forms[0][k]; ok {
			t.Errorf("%s sent: %v", k, f.forms[0])
		}
	}
}

// TestSendRefusals: what the adapter refuses before calling.
func TestSendRefusals(t *testing.T) {
	f := &fakeCalls{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	p, _ := New(testConfig(clientTo(t, srv.URL)))
	for name, tc := range map[string]struct {
		m    func(providers.Message) providers.Message
		want contract.FailureReason
	}{
		"sms":       {func(m providers.Message) providers.Message { m.Channel = contract.ChannelSMS; return m }, contract.ReasonChannelNotSupported},
		"not e164":  {func(m providers.Message) providers.Message { m.To = "3331234567"; return m }, contract.ReasonInvalidNumber},
		"no script": {func(m providers.Message) providers.Message { m.Text = ""; return m }, contract.ReasonInvalidMessage},
		"too long":  {func(m providers.Message) providers.Message { m.Text = strings.Repeat("x ", 2100); return m }, contract.ReasonInvalidMessage},
	} {
		_, err := p.Send(t.Context(), tc.m(voiceMessage()))
		var pe *providers.PermanentError
		if !errors.As(err, &pe) || pe.Reason != tc.want {
			t.Errorf("%s: %v, want permanent %s", name, err, tc.want)
		}
	}
	if len(f.forms) != 0 {
		t.Errorf("refused messages were sent: %d", len(f.forms))
	}
}

// TestSendErrors: the Calls API's error answers become permanent or
// retryable errors by the error table, then by the HTTP status; no error
// text quotes Twilio's message (which may hold the number).
func TestSendErrors(t *testing.T) {
	for _, tc := range []struct {
		status    int
		code      int
		permanent bool
		reason    contract.FailureReason
	}{
		{400, 21211, true, contract.ReasonInvalidNumber},
		{400, 21214, true, contract.ReasonUnreachableRoute},
		{400, 21215, true, contract.ReasonRegionNotPermitted},
		{400, 21216, true, contract.ReasonRecipientNotAllowed},
		{400, 21217, true, contract.ReasonInvalidNumber},
		{400, 21210, true, contract.ReasonSenderMisconfigured},
		{400, 21219, true, contract.ReasonSenderMisconfigured},
		{401, 20003, true, contract.ReasonProviderAuth},
		{429, 20429, false, ""},
		{400, 99999, true, contract.ReasonProviderRejected},
		{503, 0, false, ""},
		{500, 20500, false, ""},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"code": tc.code, "message": "The 'To' number +393331234567 is not valid", "status": tc.status})
			if tc.code == 0 {
				body = []byte("<html>busy</html>")
			}
			f := &fakeCalls{status: tc.status, body: string(body)}
			srv := httptest.NewServer(f)
			defer srv.Close()
			p, _ := New(testConfig(clientTo(t, srv.URL)))
			_, err := p.Send(t.Context(), voiceMessage())
			if err == nil {
				t.Fatal("no error")
			}
			var pe *providers.PermanentError
			if errors.As(err, &pe) != tc.permanent || (tc.permanent && pe.Reason != tc.reason) {
				t.Errorf("%v: permanent %v, want %v %s", err, errors.As(err, &pe), tc.permanent, tc.reason)
			}
			var apiErr *twilio.APIError
			if !errors.As(err, &apiErr) || apiErr.HTTPStatus != tc.status || apiErr.Code != tc.code {
				t.Errorf("%v: APIError %+v", err, apiErr)
			}
			if strings.Contains(err.Error(), "393331234567") || strings.Contains(err.Error(), "4, 8, 2") {
				t.Errorf("error quotes the number or the code: %v", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := testConfig(nil)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"account":  func(c *Config) { c.AccountSID = "AC1" },
		"token":    func(c *Config) { c.AuthToken = "not alnum!" },
		"from":     func(c *Config) { c.From = "15005550006" },
		"amd":      func(c *Config) { c.MachineDetection = "enable" },
		"voice":    func(c *Config) { c.SayVoice = `x" onload="` },
		"callback": func(c *Config) { c.StatusCallbackURL = "/webhooks/twilio/voice" },
	} {
		c := good
		mod(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), testAuthToken) {
			t.Errorf("%s: error quotes the token", name)
		}
	}
}
