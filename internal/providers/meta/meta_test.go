package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/providers/providerstest"
)

const (
	testToken    = "EAAtesttoken.SECRET_123"
	testPhoneID  = "1234567890"
	testTemplate = "veriflow_code"
	testCode     = "482913"
	testTo       = "+393331234567"
)

// captured is one request the fake Graph API received.
type captured struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// fakeGraph is an httptest server answering every request with status and
// body, recording the requests.
type fakeGraph struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []captured
}

func newFakeGraph(t *testing.T, status int, body string) *fakeGraph {
	t.Helper()
	f := &fakeGraph{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request body: %v", err)
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, captured{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: b})
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGraph) requests() []captured {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]captured(nil), f.reqs...)
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func testConfig(baseURL string, logs *logBuffer) Config {
	cfg := Config{
		PhoneNumberID: testPhoneID,
		AccessToken:   testToken,
		BaseURL:       baseURL,
		TemplateName:  testTemplate,
	}
	if logs != nil {
		cfg.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return cfg
}

func newTestProvider(t *testing.T, cfg Config) *Provider {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func whatsAppMessage(locale string) providers.Message {
	return providers.Message{
		IdempotencyKey: "vf_1/1",
		VerificationID: "vf_1",
		TenantID:       "t_1",
		Channel:        contract.ChannelWhatsApp,
		To:             testTo,
		Recipient:      contract.Destinations{Phone: testTo},
		Kind:           contract.KindSignup,
		Locale:         locale,
		Code:           testCode,
		TTL:            10 * time.Minute,
		Text:           "Your code is " + testCode,
	}
}

const okResponse = `{"messaging_product":"whatsapp","contacts":[{"input":"393331234567","wa_id":"393331234567"}],"messages":[{"id":"wamid.HBgLMzkzMzMxMjM0NTY3FQIAERgSQUJDREVGMDEyMzQ1Njc4OQA="}]}`

func TestName(t *testing.T) {
	p := newTestProvider(t, testConfig("", nil))
	if p.Name() != "meta" {
		t.Fatalf("Name() = %q", p.Name())
	}
	var _ providers.Provider = p
}

func TestSendPayload(t *testing.T) {
	tests := []struct {
		locale string
		langs  map[string]string
		want   string
	}{
		{locale: "en", want: "en_US"},
		{locale: "it", want: "it"},
		{locale: "es", want: "es"},
		{locale: "de", want: "de"},
		{locale: "fr", want: "fr"},
		{locale: "pt", want: "pt_BR"},
		{locale: "pt-BR", want: "pt_BR"},
		{locale: "IT", want: "it"},
		{locale: "", want: "en_US"},
		{locale: "xx", want: "en_US"},
		{locale: "en", langs: map[string]string{"en": "en"}, want: "en"},
		{locale: "pt", langs: map[string]string{"pt": "pt_PT"}, want: "pt_PT"},
		{locale: "nl", langs: map[string]string{"NL": "nl"}, want: "nl"},
	}
	for _, tt := range tests {
		t.Run(tt.locale+"->"+tt.want, func(t *testing.T) {
			f := newFakeGraph(t, http.StatusOK, okResponse)
			cfg := testConfig(f.URL, nil)
			cfg.LanguageCodes = tt.langs
			p := newTestProvider(t, cfg)
			res, err := p.Send(context.Background(), whatsAppMessage(tt.locale))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if res.MessageID != "wamid.HBgLMzkzMzMxMjM0NTY3FQIAERgSQUJDREVGMDEyMzQ1Njc4OQA=" {
				t.Errorf("MessageID = %q", res.MessageID)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Path != "/v23.0/"+testPhoneID+"/messages" {
				t.Errorf("request %s %s", r.Method, r.Path)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
				t.Errorf("Authorization = %q", got)
			}
			if got := r.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := r.Header.Get("User-Agent"); got != userAgent {
				t.Errorf("User-Agent = %q", got)
			}
			var got map[string]any
			if err := json.Unmarshal(r.Body, &got); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, r.Body)
			}
			want := map[string]any{
				"messaging_product": "whatsapp",
				"recipient_type":    "individual",
				"to":                "393331234567",
				"type":              "template",
				"template": map[string]any{
					"name":     testTemplate,
					"language": map[string]any{"code": tt.want, "policy": "deterministic"},
					"components": []any{
						map[string]any{
							"type":       "body",
							"parameters": []any{map[string]any{"type": "text", "text": testCode}},
						},
						map[string]any{
							"type":       "button",
							"sub_type":   "url",
							"index":      "0",
							"parameters": []any{map[string]any{"type": "text", "text": testCode}},
						},
					},
				},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("body\n got %s\nwant %s", r.Body, mustJSON(t, want))
			}
		})
	}
}

func TestSendCustomEndpoint(t *testing.T) {
	f := newFakeGraph(t, http.StatusOK, okResponse)
	cfg := testConfig(f.URL+"/graph/", nil)
	cfg.APIVersion = "v21.0"
	p := newTestProvider(t, cfg)
	if _, err := p.Send(context.Background(), whatsAppMessage("en")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := f.requests()[0].Path; got != "/graph/v21.0/"+testPhoneID+"/messages" {
		t.Errorf("path = %q", got)
	}
}

func TestSendOneTapPayloadIsCopyCodePayload(t *testing.T) {
	f := newFakeGraph(t, http.StatusOK, okResponse)
	cfg := testConfig(f.URL, nil)
	cfg.AndroidPackageName = "com.example.veriflow"
	cfg.AndroidSignatureHash = "K8a/AINcGX7"
	p := newTestProvider(t, cfg)
	if _, err := p.Send(context.Background(), whatsAppMessage("en")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	f2 := newFakeGraph(t, http.StatusOK, okResponse)
	p2 := newTestProvider(t, testConfig(f2.URL, nil))
	if _, err := p2.Send(context.Background(), whatsAppMessage("en")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if a, b := f.requests()[0].Body, f2.requests()[0].Body; !bytes.Equal(a, b) {
		t.Errorf("one-tap payload differs from copy-code payload:\n%s\n%s", a, b)
	}
}

// metaError is a Graph API error body.
func metaError(code, subcode int, message, details string) string {
	e := map[string]any{
		"message": message, "type": "OAuthException", "code": code,
		"error_subcode": subcode, "fbtrace_id": "AbCdEfGh123",
	}
	if details != "" {
		e["error_data"] = map[string]any{"messaging_product": "whatsapp", "details": details}
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return string(b)
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		permanent  bool
		reason     string // for permanent errors
		wantErrLog bool
	}{
		{"not on whatsapp", 400, metaError(131026, 0, "(#131026) Message undeliverable", "Message Undeliverable."), true, "not_on_whatsapp", false},
		{"template missing", 404, metaError(132001, 2494073, "(#132001) Template name does not exist in the translation",
			"template name (veriflow_code) does not exist in en_US; code "+testCode), true, "template_missing", true},
		{"template paused", 400, metaError(132015, 0, "(#132015) Template is paused", ""), true, "template_paused", true},
		{"token expired", 401, metaError(190, 463, "Error validating access token: Session has expired", ""), true, "provider_auth", true},
		{"api permission range", 403, metaError(200, 0, "(#200) Permissions error", ""), true, "provider_auth", true},
		{"re-engagement", 400, metaError(131047, 0, "(#131047) Re-engagement message", ""), true, "outside_session_window", false},
		{"unsupported message type", 400, metaError(131051, 0, "(#131051) Unsupported message type", ""), true, "unsupported_message", false},
		{"ecosystem", 400, metaError(131049, 0, "(#131049) This message was not delivered to maintain healthy ecosystem engagement.", ""), true, "recipient_limited", false},
		{"invalid parameter", 400, metaError(100, 2494010, "(#100) Invalid parameter", ""), true, "provider_rejected", false},
		{"unknown code 4xx", 400, metaError(999999, 0, "(#999999) Something new", ""), true, "provider_rejected", false},
		{"malformed 4xx", 400, `<html>Bad Request</html>`, true, "provider_rejected", false},
		{"empty 403", 403, ``, true, "provider_rejected", false},
		{"rate limit", 400, metaError(130429, 0, "(#130429) Rate limit hit", ""), false, "", false},
		{"rate limit 429", 429, metaError(130429, 0, "(#130429) Rate limit hit", ""), false, "", false},
		{"spam rate limit", 400, metaError(131048, 0, "(#131048) Spam rate limit hit", ""), false, "", false},
		{"pair rate limit", 400, metaError(131056, 0, "(#131056) (Business Account, Consumer Account) pair rate limit hit", ""), false, "", false},
		{"http 429 no body", 429, ``, false, "", false},
		{"http 500", 500, metaError(131000, 0, "(#131000) Something went wrong", ""), false, "", false},
		{"http 500 malformed", 500, `oops`, false, "", false},
		{"http 503 unknown code", 503, metaError(999999, 0, "(#999999) new", ""), false, "", false},
		{"http 502 html", 502, `<html>Bad Gateway</html>`, false, "", false},
		{"2xx without id", 200, `{"messaging_product":"whatsapp","messages":[]}`, false, "", false},
		{"2xx malformed", 200, `{`, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGraph(t, tt.status, tt.body)
			logs := &logBuffer{}
			p := newTestProvider(t, testConfig(f.URL, logs))
			res, err := p.Send(context.Background(), whatsAppMessage("en"))
			if err == nil {
				t.Fatalf("Send succeeded: %+v", res)
			}
			var perm *providers.PermanentError
			if got := errors.As(err, &perm); got != tt.permanent {
				t.Fatalf("permanent = %v, want %v (err: %v)", got, tt.permanent, err)
			}
			if tt.permanent && string(perm.Reason) != tt.reason {
				t.Errorf("reason = %q, want %q", perm.Reason, tt.reason)
			}
			for _, secret := range []string{testCode, testToken, "393331234567"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains a secret %q", err, secret)
				}
				if strings.Contains(logs.String(), secret) {
					t.Errorf("log contains a secret %q:\n%s", secret, logs)
				}
			}
			var apiErr *APIError
			if tt.status != 200 && !errors.As(err, &apiErr) {
				t.Errorf("error does not wrap *APIError: %v", err)
			}
			out := logs.String()
			if tt.wantErrLog {
				if !strings.Contains(out, `"level":"ERROR"`) || !strings.Contains(out, `"template":"`+testTemplate+`"`) ||
					!strings.Contains(out, `"language":"en_US"`) || !strings.Contains(out, `"reason":"`+tt.reason+`"`) {
					t.Errorf("want an ERROR log with template, language and reason, got:\n%s", out)
				}
			} else if strings.Contains(out, `"level":"ERROR"`) {
				t.Errorf("unexpected ERROR log:\n%s", out)
			}
		})
	}
}

func TestSendTemplateMissingLog(t *testing.T) {
	f := newFakeGraph(t, http.StatusNotFound, metaError(132001, 2494073,
		"(#132001) Template name does not exist in the translation", "template name ("+testTemplate+") does not exist in it"))
	logs := &logBuffer{}
	p := newTestProvider(t, testConfig(f.URL, logs))
	_, err := p.Send(context.Background(), whatsAppMessage("it"))
	var perm *providers.PermanentError
	if !errors.As(err, &perm) || perm.Reason != "template_missing" {
		t.Fatalf("err = %v, want template_missing", err)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line); err != nil {
		t.Fatalf("want exactly one JSON log line, got %q: %v", logs.String(), err)
	}
	for k, v := range map[string]any{"level": "ERROR", "template": testTemplate, "language": "it",
		"reason": "template_missing", "meta_code": float64(132001), "fbtrace_id": "AbCdEfGh123"} {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v", k, line[k], v)
		}
	}
	if strings.Contains(logs.String(), testCode) || strings.Contains(logs.String(), testToken) {
		t.Errorf("log leaks the code or the token: %s", logs)
	}
}

func TestSendContextTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	p := newTestProvider(t, testConfig(srv.URL, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Send(ctx, whatsAppMessage("en"))
	if err == nil {
		t.Fatal("Send succeeded")
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Send took %s", time.Since(start))
	}
	var perm *providers.PermanentError
	if errors.As(err, &perm) {
		t.Errorf("timeout is permanent: %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
}

func TestSendClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	cfg := testConfig(srv.URL, nil)
	cfg.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
	p := newTestProvider(t, cfg)
	_, err := p.Send(context.Background(), whatsAppMessage("en"))
	var perm *providers.PermanentError
	if err == nil || errors.As(err, &perm) {
		t.Fatalf("err = %v, want a transient error", err)
	}
}

func TestSendNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	p := newTestProvider(t, testConfig(url, nil))
	_, err := p.Send(context.Background(), whatsAppMessage("en"))
	var perm *providers.PermanentError
	if err == nil || errors.As(err, &perm) {
		t.Fatalf("err = %v, want a transient error", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error leaks the token: %v", err)
	}
}

func TestSendRejectsBeforeCalling(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*providers.Message)
		reason string
	}{
		{"sms", func(m *providers.Message) { m.Channel = contract.ChannelSMS }, "channel_not_supported"},
		{"email", func(m *providers.Message) { m.Channel = contract.ChannelEmail; m.To = "a@example.com" }, "channel_not_supported"},
		{"no code", func(m *providers.Message) { m.Code = "" }, "invalid_message"},
		{"code too long", func(m *providers.Message) { m.Code = "1234567890123456" }, "invalid_message"},
		{"not a number", func(m *providers.Message) { m.To = "+39 333 123" }, "invalid_destination"},
		{"empty destination", func(m *providers.Message) { m.To = "" }, "invalid_destination"},
		{"too long", func(m *providers.Message) { m.To = "+1234567890123456" }, "invalid_destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGraph(t, http.StatusOK, okResponse)
			p := newTestProvider(t, testConfig(f.URL, nil))
			m := whatsAppMessage("en")
			tt.mutate(&m)
			_, err := p.Send(context.Background(), m)
			var perm *providers.PermanentError
			if !errors.As(err, &perm) || string(perm.Reason) != tt.reason {
				t.Fatalf("err = %v, want permanent %s", err, tt.reason)
			}
			if n := len(f.requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestNewValidation(t *testing.T) {
	valid := testConfig("", nil)
	if _, err := New(valid); err != nil {
		t.Fatalf("New(valid): %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"no phone number id", func(c *Config) { c.PhoneNumberID = "" }},
		{"phone number id with a slash", func(c *Config) { c.PhoneNumberID = "12/34" }},
		{"no token", func(c *Config) { c.AccessToken = "" }},
		{"token with a newline", func(c *Config) { c.AccessToken = "abc\ndef" }},
		{"no template", func(c *Config) { c.TemplateName = "" }},
		{"template with capitals", func(c *Config) { c.TemplateName = "Veriflow Code" }},
		{"bad version", func(c *Config) { c.APIVersion = "23" }},
		{"bad base url", func(c *Config) { c.BaseURL = "graph.facebook.com" }},
		{"base url with query", func(c *Config) { c.BaseURL = "https://graph.facebook.com?x=1" }},
		{"package without hash", func(c *Config) { c.AndroidPackageName = "com.example.app" }},
		{"hash without package", func(c *Config) { c.AndroidSignatureHash = "K8a/AINcGX7" }},
		{"bad hash", func(c *Config) { c.AndroidPackageName = "com.example.app"; c.AndroidSignatureHash = "short" }},
		{"bad package", func(c *Config) { c.AndroidPackageName = "app"; c.AndroidSignatureHash = "K8a/AINcGX7" }},
		{"bad language code", func(c *Config) { c.LanguageCodes = map[string]string{"en": "en-US"} }},
		{"expiry too long", func(c *Config) { c.CodeExpirationMinutes = 91 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.mutate(&cfg)
			_, err := New(cfg)
			if err == nil {
				t.Fatal("New accepted an invalid config")
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestNewDoesNotAliasLanguageCodes(t *testing.T) {
	langs := map[string]string{"en": "en"}
	cfg := testConfig("", nil)
	cfg.LanguageCodes = langs
	p := newTestProvider(t, cfg)
	langs["en"] = "en_GB"
	if got := p.LanguageCode("en"); got != "en" {
		t.Errorf("LanguageCode(en) = %q after the caller changed its map", got)
	}
}

func TestErrorReason(t *testing.T) {
	providerstest.CheckErrorTable(t, ErrorReason, `
		131026 not_on_whatsapp yes
		132001 template_missing yes
		131047 outside_session_window yes
		131051 unsupported_message yes
		131050 recipient_opted_out yes
		131049 recipient_limited yes
		130472 recipient_in_experiment yes
		131021 invalid_destination yes
		190 provider_auth yes
		250 provider_auth yes
		131042 account_payment_issue yes
		130429 rate_limited no
		131048 rate_limited no
		131056 rate_limited no
		131000 provider_error no
		2 provider_unavailable no
		424242 provider_rejected yes`)
}

func roundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(mustJSON(t, v)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestValidators(t *testing.T) {
	for _, tt := range []struct {
		name string
		fn   func(string) bool
		ok   []string
		bad  []string
	}{
		{"api version", validAPIVersion, []string{"v23.0", "v9.12"}, []string{"", "23.0", "v23", "v23.", "v.0", "v23.0.1", "v2a.0"}},
		{"template name", validTemplateName, []string{"veriflow_code", "otp2"}, []string{"", "Otp", "otp-code", "otp code", strings.Repeat("a", 513)}},
		{"language code", validLanguageCode, []string{"en", "fil", "en_US", "pt_BR", "zh_CHS"}, []string{"", "e", "en-US", "EN", "en_", "en_U", "english"}},
		{"android package", validAndroidPackage, []string{"com.example.app", "a.b", "com.ex_ample.app2"}, []string{"", "app", "com..app", ".com.app", "com.1app", "com.app.", "com.app-x"}},
		{"signature hash", validSignatureHash, []string{"K8a/AINcGX7", "abcdefghij+"}, []string{"", "K8a/AINcGX", "K8a/AINcGX7x", "K8a%2FAINcGX"}},
		{"challenge", validChallenge, []string{"1158201444", "abc-DEF_1.2"}, []string{"", "<b>", "a b", strings.Repeat("1", 129)}},
	} {
		for _, s := range tt.ok {
			if !tt.fn(s) {
				t.Errorf("%s: %q rejected", tt.name, s)
			}
		}
		for _, s := range tt.bad {
			if tt.fn(s) {
				t.Errorf("%s: %q accepted", tt.name, s)
			}
		}
	}
}
