package twilio

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
)

// Fake credentials and SIDs in Twilio's formats.
const (
	testAccountSID = "AC0123456789abcdef0123456789abcdef"
	testAuthToken  = "fakeAuthToken0123456789abcdef012"
	testServiceSID = "MG0123456789abcdef0123456789abcdef"
	testContentSID = "HX0123456789abcdef0123456789abcdef"
	testFrom       = "+15005550006"
	testWAFrom     = "whatsapp:+15005550006"
	testTo         = "+393331234567"
	testCode       = "482913"
	testCallback   = "https://veriflow.example.com/webhooks/twilio/status"
)

// mockTransport sends every request to target instead of api.twilio.com
// (twilio-go has no base URL option), adds header, and records the status
// of each answer. Error answers' bodies are logged to t.
type mockTransport struct {
	t      testing.TB
	target *url.URL
	header http.Header
	base   http.RoundTripper

	mu       sync.Mutex
	statuses []int
}

func newMockClient(t testing.TB, baseURL string, header http.Header) (*http.Client, *mockTransport) {
	t.Helper()
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatalf("parse %s: %v", baseURL, err)
	}
	mt := &mockTransport{t: t, target: u, header: header, base: http.DefaultTransport}
	return &http.Client{Transport: mt}, mt
}

func (m *mockTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme = m.target.Scheme
	req.URL.Host = m.target.Host
	req.Host = m.target.Host
	for k, vs := range m.header {
		req.Header[k] = vs
	}
	resp, err := m.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.statuses = append(m.statuses, resp.StatusCode)
	m.mu.Unlock()
	if resp.StatusCode >= 400 {
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close() // replaced below
		if err != nil {
			return nil, err
		}
		m.t.Logf("%s %s → %d: %s", req.Method, req.URL.Path, resp.StatusCode, body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}

// last returns the status of the last answer (0 if none).
func (m *mockTransport) last() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.statuses) == 0 {
		return 0
	}
	return m.statuses[len(m.statuses)-1]
}

// testConfig is a configuration with both channels, MessagingServiceSID
// unset (SMS from From, WhatsApp from WhatsAppFrom).
func testConfig(hc *http.Client) Config {
	return Config{
		AccountSID:        testAccountSID,
		AuthToken:         testAuthToken,
		From:              testFrom,
		WhatsAppFrom:      testWAFrom,
		ContentSID:        testContentSID,
		StatusCallbackURL: testCallback,
		HTTPClient:        hc,
	}
}

func mustNew(t testing.TB, cfg Config) *Provider {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}
