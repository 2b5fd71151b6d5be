package twiliovoice

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/veriflow/veriflow/internal/prismtest"
)

// prismClient sends every request to Prism and asks for dynamic answers
// (a fresh Call SID each time).
//
// Prism quirk: it decodes a form field sent several times (Twilio's
// documented way to send the array StatusCallbackEvent) as a string and
// refuses it ("must be array"). The transport checks the repeated field
// here and takes it out of the body; the rest of the form goes to Prism
// as sent.
type prismClient struct {
	t      testing.TB
	target *url.URL
	status []int
}

func (p *prismClient) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if req.Body != nil && strings.HasSuffix(req.URL.Path, "/Calls.json") {
		raw, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, err
		}
		if ev := form["StatusCallbackEvent"]; ev != nil {
			if strings.Join(ev, ",") != "initiated,ringing,answered,completed" {
				p.t.Errorf("StatusCallbackEvent %v", ev)
			}
			form.Del("StatusCallbackEvent")
		}
		body := form.Encode()
		req.Body, req.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
	}
	req.URL.Scheme, req.URL.Host, req.Host = p.target.Scheme, p.target.Host, p.target.Host
	req.Header.Set("Prefer", "dynamic=true")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		p.status = append(p.status, resp.StatusCode)
	}
	return resp, err
}

// TestCallAgainstTwilioSpec places calls through Prism serving Twilio's
// OpenAPI spec with --errors: a request that violates the spec gets a 4xx,
// so a 2xx proves the shape of the Calls request (inline TwiML, status
// callback and its events, machine detection).
func TestCallAgainstTwilioSpec(t *testing.T) {
	base := prismtest.Start(t, prismtest.SpecPath(t, "twilio_api_v2010.json"))
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	rt := &prismClient{t: t, target: u}
	hc := &http.Client{Transport: rt}

	// Control: Prism really validates (a bad method enum is refused).
	t.Run("control_invalid_request_rejected", func(t *testing.T) {
		form := url.Values{"To": {testTo}, "From": {testFrom}, "Twiml": {"<Response/>"}, "StatusCallbackMethod": {"PUT"}}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
			"https://api.twilio.com/2010-04-01/Accounts/"+testAccountSID+"/Calls.json", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testAccountSID, testAuthToken)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close() // status only
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("StatusCallbackMethod=PUT: status %d, want 422 (is Prism running with --errors?)", resp.StatusCode)
		}
	})

	sidRE := regexp.MustCompile(`^CA[0-9a-fA-F]{32}$`)
	seen := map[string]bool{}
	for _, amd := range []string{"", DetectEnable, DetectMessageEnd} {
		t.Run("amd="+amd, func(t *testing.T) {
			cfg := testConfig(hc)
			cfg.MachineDetection = amd
			cfg.SayVoice = "Polly.Joanna"
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := p.Send(t.Context(), voiceMessage())
			if err != nil {
				t.Fatalf("Send: %v (statuses %v)", err, rt.status)
			}
			if s := rt.status[len(rt.status)-1]; s < 200 || s > 299 {
				t.Fatalf("status %d, want 2xx", s)
			}
			if !sidRE.MatchString(res.MessageID) || seen[res.MessageID] {
				t.Errorf("MessageID %q is not a fresh call SID", res.MessageID)
			}
			seen[res.MessageID] = true
		})
	}
}
