package twilio

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/prismtest"
	"github.com/veriflow/veriflow/internal/providers"
)

// TestSendAgainstTwilioSpec sends real adapter requests to Prism serving
// Twilio's OpenAPI spec with --errors: a request that violates the spec
// (credentials, path SID pattern, form fields' patterns, formats and
// required fields) gets a 4xx, so a 2xx proves the request's shape.
func TestSendAgainstTwilioSpec(t *testing.T) {
	base := prismtest.Start(t, prismtest.SpecPath(t, "twilio_api_v2010.json"))
	// Dynamic answers give every message its own SID.
	hc, mt := newMockClient(t, base, http.Header{"Prefer": {"dynamic=true"}})
	sidRE := regexp.MustCompile(`^(SM|MM)[0-9a-fA-F]{32}$`)

	// Control: Prism really validates, or a 2xx would prove nothing.
	t.Run("control_invalid_request_rejected", func(t *testing.T) {
		form := url.Values{"To": {testTo}, "Body": {"x"}, "MessagingServiceSid": {"MGnot-a-sid"}}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
			"https://api.twilio.com/2010-04-01/Accounts/"+testAccountSID+"/Messages.json",
			strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testAccountSID, testAuthToken)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close() // logged by the transport
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("invalid MessagingServiceSid: status %d, want 422 (is Prism running with --errors?)", resp.StatusCode)
		}
	})

	withService := testConfig(hc)
	withService.MessagingServiceSID = testServiceSID
	waService := testConfig(hc)
	waService.WhatsAppFrom = ""
	waService.MessagingServiceSID = testServiceSID

	rcsDirect := testConfig(hc)
	rcsDirect.RCSSender = testRCSSender

	cases := []struct {
		name string
		cfg  Config
		msg  providers.Message
	}{
		{"sms_messaging_service", withService, providers.Message{Channel: contract.ChannelSMS, To: testTo, Text: "Your Veriflow code is " + testCode, Code: testCode}},
		{"sms_from", testConfig(hc), providers.Message{Channel: contract.ChannelSMS, To: testTo, Text: "Your Veriflow code is " + testCode, Code: testCode}},
		{"whatsapp_template_from", testConfig(hc), providers.Message{Channel: contract.ChannelWhatsApp, To: testTo, Code: testCode}},
		{"whatsapp_template_messaging_service", waService, providers.Message{Channel: contract.ChannelWhatsApp, To: testTo, Code: testCode}},
		{"rcs_direct", rcsDirect, providers.Message{Channel: contract.ChannelRCS, To: testTo, Text: testCode + " is your Veriflow code.", Code: testCode}},
	}
	seen := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustNew(t, tc.cfg)
			res, err := p.Send(t.Context(), tc.msg)
			if err != nil {
				t.Fatalf("Send: %v (last status %d)", err, mt.last())
			}
			if s := mt.last(); s < 200 || s > 299 {
				t.Fatalf("status %d, want 2xx", s)
			}
			if !sidRE.MatchString(res.MessageID) {
				t.Errorf("MessageID %q is not a message SID", res.MessageID)
			}
			if other, dup := seen[res.MessageID]; dup {
				t.Errorf("MessageID %q also returned for %s", res.MessageID, other)
			}
			seen[res.MessageID] = tc.name
		})
	}
}
