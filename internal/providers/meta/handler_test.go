package meta

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

type recorder struct {
	receipts []contract.Receipt
	err      error
}

func (r *recorder) Ingest(_ context.Context, rc contract.Receipt) error {
	if r.err != nil {
		return r.err
	}
	r.receipts = append(r.receipts, rc)
	return nil
}

// serve sends one request to the route of the webhook matching method.
func serve(t *testing.T, wh providers.Webhook, method, target, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	for _, rt := range wh.Routes() {
		if rt.Method != method {
			continue
		}
		if !strings.HasPrefix(target, rt.Path) || rt.Path != WebhookPath {
			t.Fatalf("route %s %s", rt.Method, rt.Path)
		}
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		rt.Handler.ServeHTTP(rec, req)
		return rec
	}
	t.Fatalf("no %s route", method)
	return nil
}

func TestWebhookHandler(t *testing.T) {
	rec := &recorder{}
	wh := Config{AppSecret: testAppSecret, VerifyToken: "verify-me"}.Webhook(providers.Env{Receipts: rec})
	off := Config{}.Webhook(providers.Env{Receipts: rec})
	challenge := WebhookPath + "?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444"

	if r := serve(t, wh, http.MethodGet, challenge, ""); r.Code != 200 || r.Body.String() != "1158201444" ||
		r.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("challenge: %d %q %q", r.Code, r.Body, r.Header().Get("Content-Type"))
	}
	signed := sign(testAppSecret, []byte(deliveredPayload))
	for name, r := range map[string]*httptest.ResponseRecorder{
		"challenge, wrong token 403": serve(t, wh, http.MethodGet, strings.Replace(challenge, "verify-me", "guess", 1), ""),
		"challenge, off 404":         serve(t, off, http.MethodGet, challenge, ""),
		"notification, off 404":      serve(t, off, http.MethodPost, WebhookPath, deliveredPayload, "X-Hub-Signature-256", signed),
		"unsigned 403":               serve(t, wh, http.MethodPost, WebhookPath, deliveredPayload),
		"tampered 403": serve(t, wh, http.MethodPost, WebhookPath, strings.Replace(deliveredPayload, "delivered", "failed", 1),
			"X-Hub-Signature-256", signed),
		"oversized 413": serve(t, wh, http.MethodPost, WebhookPath, `{"x":"`+strings.Repeat("a", maxNotificationBody)+`"}`),
		"not a notification 400": serve(t, wh, http.MethodPost, WebhookPath, `{"object":"page"}`,
			"X-Hub-Signature-256", sign(testAppSecret, []byte(`{"object":"page"}`))),
	} {
		want := name[len(name)-3:]
		if got := r.Result().Status[:3]; got != want || r.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %s %q", name, r.Result().Status, r.Header().Get("Content-Type"))
		}
	}
	if len(rec.receipts) != 0 {
		t.Fatalf("refused notifications stored %v", rec.receipts)
	}
	if r := serve(t, wh, http.MethodPost, WebhookPath, deliveredPayload, "X-Hub-Signature-256", signed); r.Code != 200 {
		t.Fatalf("signed notification: %d %s", r.Code, r.Body)
	}
	if len(rec.receipts) != 1 || rec.receipts[0].Status != contract.AttemptDelivered {
		t.Fatalf("stored %+v", rec.receipts)
	}
	rec.err = errors.New("store down")
	if r := serve(t, wh, http.MethodPost, WebhookPath, deliveredPayload, "X-Hub-Signature-256", signed); r.Code != 503 ||
		r.Header().Get("Retry-After") != "1" {
		t.Fatalf("store down: %d %v", r.Code, r.Header())
	}
}

// TestMetaConfigFromEnv reads every META_* variable into its field.
func TestMetaConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"META_PHONE_NUMBER_ID": "1", "META_ACCESS_TOKEN": "2", "META_APP_SECRET": "3", "META_VERIFY_TOKEN": "4",
		"META_TEMPLATE_NAME": "5", "META_API_VERSION": "6", "META_BASE_URL": "7", "META_ANDROID_PACKAGE": "8",
		"META_ANDROID_SIGNATURE_HASH": "9",
	}
	c := ConfigFromEnv(func(k string) string { return env[k] })
	got := []string{c.PhoneNumberID, c.AccessToken, c.AppSecret, c.VerifyToken, c.TemplateName, c.APIVersion, c.BaseURL,
		c.AndroidPackageName, c.AndroidSignatureHash}
	if strings.Join(got, "") != "123456789" || !c.Enabled() || len(c.DefaultChannels()) != 1 {
		t.Fatalf("ConfigFromEnv = %+v", c)
	}
}
