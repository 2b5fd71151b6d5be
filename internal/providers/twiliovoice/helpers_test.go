package twiliovoice

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// Fake credentials and numbers in Twilio's formats.
const (
	testAccountSID = "AC0123456789abcdef0123456789abcdef"
	testAuthToken  = "fakeAuthToken0123456789abcdef012"
	testSecondary  = "rotatedToken0123456789abcdef0123"
	testFrom       = "+15005550006"
	testTo         = "+393331234567"
	testCallSID    = "CA0123456789abcdef0123456789abcdef"
	testCallback   = "https://veriflow.example.com/webhooks/twilio/voice"
	testScript     = "This is Veriflow. Here is your code to sign in.\n4, 8, 2, 9, 1, 3.\nOnce again, your code is:\n4, 8, 2, 9, 1, 3.\nNever share this code with anyone. Goodbye."
)

// rewrite sends every request to target instead of api.twilio.com.
type rewrite struct{ target *url.URL }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = r.target.Scheme, r.target.Host, r.target.Host
	return http.DefaultTransport.RoundTrip(req)
}

func clientTo(t testing.TB, base string) *http.Client {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: rewrite{target: u}}
}

func testConfig(hc *http.Client) Config {
	return Config{AccountSID: testAccountSID, AuthToken: testAuthToken, From: testFrom, StatusCallbackURL: testCallback, HTTPClient: hc}
}

// sign computes X-Twilio-Signature as Twilio documents it, independently
// of twilio-go: base64(HMAC-SHA1(token, url + sorted keys and values)).
func sign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		for _, v := range form[k] {
			b.WriteString(k + v)
		}
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
