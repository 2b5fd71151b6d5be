package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/providers"
	"github.com/veriflow/veriflow/internal/providers/meta"
	"github.com/veriflow/veriflow/internal/providers/twilio"
	"github.com/veriflow/veriflow/internal/providers/twiliovoice"
)

// Provider credentials of the e2e deployment (fakes on loopback).
const (
	twilioAccountSID = "AC0123456789abcdef0123456789abcdef"
	twilioAuthToken  = "e2eprimarytoken0123456789abcdef"
	twilioSecondary  = "e2esecondarytoken0123456789abcd"
	metaAppSecret    = "e2e-app-secret"
	metaVerifyToken  = "e2e-verify-token"
)

// fakeProviders stands in for the Twilio REST API and the WhatsApp Cloud
// API: it accepts sends, records them, and answers with fresh message ids.
type fakeProviders struct {
	server *httptest.Server
	mu     sync.Mutex
	twilio []url.Values
	calls  []url.Values // Twilio Calls API requests (voice)
	meta   []map[string]any
	ids    []string            // message ids answered, in order
	byTo   map[string][]string // message ids answered per destination (digits only)
	// metaDown: the Cloud API answers 503 to sends to these destinations
	// (digits only), counted in metaRefused.
	metaDown    map[string]bool
	metaRefused int
}

func newFakeProviders() *fakeProviders {
	f := &fakeProviders{byTo: map[string][]string{}, metaDown: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		sid := "SM" + strings.ToLower(hex.EncodeToString([]byte(rand.Text()[:16])))
		f.mu.Lock()
		f.twilio = append(f.twilio, r.PostForm)
		f.ids = append(f.ids, sid)
		f.byTo[strings.TrimPrefix(r.PostForm.Get("To"), "+")] = append(f.byTo[strings.TrimPrefix(r.PostForm.Get("To"), "+")], sid)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": sid, "status": "queued", "account_sid": r.PathValue("sid")})
	})
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Calls.json", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		sid := "CA" + strings.ToLower(hex.EncodeToString([]byte(rand.Text()[:16])))
		f.mu.Lock()
		f.calls = append(f.calls, r.PostForm)
		f.ids = append(f.ids, sid)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": sid, "status": "queued", "account_sid": r.PathValue("sid")})
	})
	mux.HandleFunc("POST /{version}/{phone}/messages", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		id := "wamid." + rand.Text()
		f.mu.Lock()
		if to, _ := body["to"].(string); f.metaDown[to] {
			f.metaRefused++
			f.mu.Unlock()
			http.Error(w, `{"error":{"message":"Service temporarily unavailable","code":2}}`, http.StatusServiceUnavailable)
			return
		}
		f.meta = append(f.meta, body)
		f.ids = append(f.ids, id)
		if to, ok := body["to"].(string); ok {
			f.byTo[to] = append(f.byTo[to], id)
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"messaging_product": "whatsapp", "messages": []map[string]string{{"id": id}}})
	})
	f.server = httptest.NewServer(mux)
	return f
}

// client sends every provider request to the fakes, whatever host the
// adapter meant (twilio-go has no base URL option).
func (f *fakeProviders) client() *http.Client {
	target, _ := url.Parse(f.server.URL)
	return &http.Client{Transport: rewriteHost{target: target}}
}

type rewriteHost struct{ target *url.URL }

func (t rewriteHost) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.target.Scheme, t.target.Host, t.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

// idsTo returns the message ids answered for messages (not calls) to a
// phone number, in order.
func (f *fakeProviders) idsTo(phone string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.byTo[strings.TrimPrefix(phone, "+")]...)
}

// twilioSends returns a copy of the recorded Twilio requests.
func (f *fakeProviders) twilioSends() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.twilio...)
}

// callSends returns a copy of the recorded Twilio Calls requests.
func (f *fakeProviders) callSends() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.calls...)
}

// metaSends returns a copy of the recorded Cloud API requests and ids.
func (f *fakeProviders) metaSends() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.meta...)
}

// providerConfig routes tenant "initech" (live) through the fakes: WhatsApp
// over the Cloud API, SMS, RCS and voice over Twilio. Other tenants have no
// live route.
func providerConfig(publicBaseURL, fakeURL string) config.Providers {
	return config.Providers{
		PublicBaseURL: publicBaseURL,
		Settings: map[string]providers.Settings{
			twilio.Name: twilio.Config{AccountSID: twilioAccountSID, AuthToken: twilioAuthToken, AuthTokenSecondary: twilioSecondary,
				From: "+15005550006", RCSSender: e2eRCSSender,
				WhatsAppFrom: "whatsapp:+15005550006", ContentSID: "HX0123456789abcdef0123456789abcdef"},
			twiliovoice.Name: twiliovoice.Config{AccountSID: twilioAccountSID, AuthToken: twilioAuthToken, AuthTokenSecondary: twilioSecondary,
				From: "+15005550006"},
			meta.Name: meta.Config{PhoneNumberID: "1234567890", AccessToken: "EAAe2etoken", AppSecret: metaAppSecret,
				VerifyToken: metaVerifyToken, TemplateName: "veriflow_code", BaseURL: fakeURL},
		},
		Channels: map[string]string{},
		Tenants: map[string]map[string]string{"initech": {"whatsapp": "meta", "sms": "twilio", "rcs": "twilio", "voice": twiliovoice.Name},
			"failco": {"whatsapp": "meta,twilio", "sms": "twilio"}},
	}
}

// metaStatus builds a WhatsApp Business notification with one status.
func metaStatus(messageID, status string, errorCode int) []byte {
	st := map[string]any{"id": messageID, "status": status, "timestamp": "1763758000", "recipient_id": "393331234567"}
	if errorCode != 0 {
		st["errors"] = []map[string]any{{"code": errorCode, "title": "Message undeliverable"}}
	}
	body, _ := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []map[string]any{{"id": "WABA", "changes": []map[string]any{{"field": "messages",
			"value": map[string]any{"messaging_product": "whatsapp", "statuses": []any{st}}}}}},
	})
	return body
}
