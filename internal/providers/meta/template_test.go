package meta

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	testWABA    = "102290129340398"
	testPackage = "com.example.veriflow"
	testHash    = "K8a/AINcGX7"
)

// templateConfig is a valid template configuration with button b.
func templateConfig(baseURL string, b ButtonType) Config {
	cfg := testConfig(baseURL, nil)
	cfg.WABAID = testWABA
	cfg.TemplateButton = b
	if b == ButtonOneTap || b == ButtonZeroTap {
		cfg.AndroidPackageName, cfg.AndroidSignatureHash = testPackage, testHash
	}
	cfg.ZeroTapTermsAccepted = b == ButtonZeroTap
	return cfg
}

// TestTemplateDefinitionButtons: each button type gives exactly Meta's
// documented component, the footer and the time-to-live appear when set.
func TestTemplateDefinitionButtons(t *testing.T) {
	app := []any{map[string]any{"package_name": testPackage, "signature_hash": testHash}}
	for _, tc := range []struct {
		button ButtonType
		want   map[string]any
	}{
		{ButtonCopyCode, map[string]any{"type": "OTP", "otp_type": "COPY_CODE"}},
		{ButtonOneTap, map[string]any{"type": "OTP", "otp_type": "ONE_TAP", "supported_apps": app}},
		{ButtonZeroTap, map[string]any{"type": "OTP", "otp_type": "ZERO_TAP", "zero_tap_terms_accepted": true, "supported_apps": app}},
	} {
		t.Run(string(tc.button), func(t *testing.T) {
			cfg := templateConfig("", tc.button)
			cfg.CodeExpirationMinutes, cfg.MessageSendTTLSeconds = 10, 120
			if err := cfg.ValidateTemplate(); err != nil {
				t.Fatal(err)
			}
			got := roundTrip(t, TemplateDefinition(cfg, "pt"))
			want := map[string]any{
				"name": testTemplate, "language": "pt_BR", "category": "AUTHENTICATION",
				"message_send_ttl_seconds": float64(120),
				"components": []any{
					map[string]any{"type": "BODY", "add_security_recommendation": true},
					map[string]any{"type": "FOOTER", "code_expiration_minutes": float64(10)},
					map[string]any{"type": "BUTTONS", "buttons": []any{tc.want}},
				},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, want))
			}
			if d := TemplateDefinition(cfg, "pt").Definition(); d.Button != tc.button || d.MessageSendTTLSeconds != 120 {
				t.Errorf("Definition() = %+v", d)
			}
		})
	}

	// No footer, no time-to-live, no security recommendation.
	cfg := templateConfig("", ButtonCopyCode)
	cfg.NoSecurityRecommendation = true
	got := roundTrip(t, TemplateDefinition(cfg, "en"))
	want := map[string]any{
		"name": testTemplate, "language": "en_US", "category": "AUTHENTICATION",
		"components": []any{
			map[string]any{"type": "BODY", "add_security_recommendation": false},
			map[string]any{"type": "BUTTONS", "buttons": []any{map[string]any{"type": "OTP", "otp_type": "COPY_CODE"}}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("minimal:\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, want))
	}
}

// TestTemplateButtonDefault: without META_TEMPLATE_BUTTON the button is
// one-tap when the Android app is configured (as before), else copy code.
func TestTemplateButtonDefault(t *testing.T) {
	cfg := testConfig("", nil)
	if b := cfg.Button(); b != ButtonCopyCode {
		t.Errorf("no app: %s", b)
	}
	cfg.AndroidPackageName, cfg.AndroidSignatureHash = testPackage, testHash
	if b := cfg.Button(); b != ButtonOneTap {
		t.Errorf("with app: %s", b)
	}
	cfg.TemplateButton = ButtonCopyCode
	if b := cfg.Button(); b != ButtonCopyCode {
		t.Errorf("explicit copy_code: %s", b)
	}
	if len(ButtonTypes()) != 3 || ButtonType("COPY_CODE").Valid() || !ButtonZeroTap.Valid() {
		t.Error("ButtonTypes")
	}
}

func TestTemplateDefinitionLanguage(t *testing.T) {
	cfg := testConfig("", nil)
	cfg.LanguageCodes = map[string]string{"en": "en_GB"}
	for in, want := range map[string]string{
		"": "en_GB", "en": "en_GB", "it": "it", "pt-BR": "pt_BR", "en_US": "en_US", "pt_PT": "pt_PT", "nl": "nl",
	} {
		if got := TemplateDefinition(cfg, in).Language; got != want {
			t.Errorf("TemplateDefinition(%q) language = %v, want %s", in, got, want)
		}
	}
	if got, want := TemplateLanguages(testConfig("", nil)), []string{"de", "en_US", "es", "fr", "it", "pt_BR"}; !slices.Equal(got, want) {
		t.Errorf("TemplateLanguages = %v, want %v", got, want)
	}
	if got := TemplateLanguages(cfg); !slices.Contains(got, "en_GB") || slices.Contains(got, "en_US") {
		t.Errorf("TemplateLanguages with en→en_GB = %v", got)
	}
}

func TestValidateTemplate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // "" = valid
	}{
		{"copy code", func(*Config) {}, ""},
		{"ttl bounds", func(c *Config) { c.MessageSendTTLSeconds = 30 }, ""},
		{"ttl max", func(c *Config) { c.MessageSendTTLSeconds = 900 }, ""},
		{"ttl too short", func(c *Config) { c.MessageSendTTLSeconds = 29 }, "MessageSendTTLSeconds 29"},
		{"ttl too long", func(c *Config) { c.MessageSendTTLSeconds = 901 }, "MessageSendTTLSeconds 901"},
		{"footer", func(c *Config) { c.CodeExpirationMinutes = 91 }, "CodeExpirationMinutes 91"},
		{"button", func(c *Config) { c.TemplateButton = "COPY_CODE" }, "TemplateButton (META_TEMPLATE_BUTTON)"},
		{"one tap without app", func(c *Config) { c.TemplateButton = ButtonOneTap }, "META_ANDROID_PACKAGE"},
		{"one tap bad hash", func(c *Config) {
			c.TemplateButton, c.AndroidPackageName, c.AndroidSignatureHash = ButtonOneTap, testPackage, "short"
		}, "META_ANDROID_SIGNATURE_HASH"},
		{"zero tap without terms", func(c *Config) {
			c.TemplateButton, c.AndroidPackageName, c.AndroidSignatureHash = ButtonZeroTap, testPackage, testHash
		}, "META_ZERO_TAP_TERMS_ACCEPTED"},
		{"name", func(c *Config) { c.TemplateName = "Veriflow" }, "META_TEMPLATE_NAME"},
	} {
		cfg := templateConfig("", ButtonCopyCode)
		tc.edit(&cfg)
		err := cfg.ValidateTemplate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestClampMessageSendTTL(t *testing.T) {
	for in, want := range map[int]struct {
		out     int
		clamped bool
	}{5: {30, true}, 29: {30, true}, 30: {30, false}, 120: {120, false}, 900: {900, false}, 901: {900, true}, 3600: {900, true}} {
		if out, clamped := ClampMessageSendTTL(in); out != want.out || clamped != want.clamped {
			t.Errorf("ClampMessageSendTTL(%d) = %d, %t; want %d, %t", in, out, clamped, want.out, want.clamped)
		}
	}
}

// TestTemplateEnv: the template variables reach Config; load refuses
// values it would otherwise misread.
func TestTemplateEnv(t *testing.T) {
	env := map[string]string{
		"META_WABA_ID": testWABA, "META_TEMPLATE_BUTTON": "zero_tap", "META_ZERO_TAP_TERMS_ACCEPTED": "true",
		"META_TEMPLATE_SECURITY_RECOMMENDATION": "false",
	}
	c := ConfigFromEnv(func(k string) string { return env[k] })
	if c.WABAID != testWABA || c.TemplateButton != ButtonZeroTap || !c.ZeroTapTermsAccepted || !c.NoSecurityRecommendation {
		t.Fatalf("ConfigFromEnv = %+v", c)
	}
	if _, err := load(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c := ConfigFromEnv(func(string) string { return "" }); c.NoSecurityRecommendation || c.ZeroTapTermsAccepted {
		t.Errorf("defaults: %+v", c)
	}
	for k, v := range map[string]string{"META_TEMPLATE_BUTTON": "autofill", "META_ZERO_TAP_TERMS_ACCEPTED": "yes", "META_TEMPLATE_SECURITY_RECOMMENDATION": "0"} {
		_, err := load(func(key string) string {
			if key == k {
				return v
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: err = %v", k, v, err)
		}
	}
}

// TestRemoteDefinition reads Meta's renderings of an authentication
// template (texts added, the button as OTP or as URL, the older one-tap
// fields) back into the definition it was created from.
func TestRemoteDefinition(t *testing.T) {
	const answer = `{"data":[
	 {"id":"1","name":"veriflow_code","language":"en_US","status":"APPROVED","category":"AUTHENTICATION","message_send_ttl_seconds":30,
	  "components":[{"type":"BODY","text":"*{{1}}* is your verification code. For your security, do not share this code.","add_security_recommendation":true},
	   {"type":"FOOTER","text":"This code expires in 5 minutes.","code_expiration_minutes":5},
	   {"type":"BUTTONS","buttons":[{"type":"OTP","otp_type":"COPY_CODE","text":"Copy code"}]}]},
	 {"id":"2","name":"veriflow_code","language":"it","status":"APPROVED","category":"AUTHENTICATION","message_send_ttl_seconds":30,
	  "components":[{"type":"BODY","text":"*{{1}}* è il tuo codice di verifica.","add_security_recommendation":true},
	   {"type":"FOOTER","text":"…","code_expiration_minutes":5},
	   {"type":"BUTTONS","buttons":[{"type":"URL","text":"Copia codice","url":"https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code=otp{{1}}"}]}]},
	 {"id":"3","name":"veriflow_code","language":"es","status":"APPROVED","category":"AUTHENTICATION","message_send_ttl_seconds":30,
	  "components":[{"type":"BODY","add_security_recommendation":true},{"type":"FOOTER","code_expiration_minutes":5},
	   {"type":"BUTTONS","buttons":[{"type":"OTP","otp_type":"ONE_TAP","text":"Copiar","autofill_text":"Autocompletar","package_name":"com.example.veriflow","signature_hash":"K8a/AINcGX7"}]}]}]}`
	var page struct{ Data []RemoteTemplate }
	if err := json.Unmarshal([]byte(answer), &page); err != nil {
		t.Fatal(err)
	}
	cfg := templateConfig("", ButtonCopyCode)
	cfg.CodeExpirationMinutes, cfg.MessageSendTTLSeconds = 5, 30
	want := TemplateDefinition(cfg, "en").Definition()
	for _, r := range page.Data[:2] {
		if diff := want.Diff(r.Definition()); diff != nil {
			t.Errorf("%s: differs: %v", r.Language, diff)
		}
	}
	oneTap := templateConfig("", ButtonOneTap)
	oneTap.CodeExpirationMinutes, oneTap.MessageSendTTLSeconds = 5, 30
	if diff := TemplateDefinition(oneTap, "es").Definition().Diff(page.Data[2].Definition()); diff != nil {
		t.Errorf("es one tap: differs: %v", diff)
	}
	// What differs is named.
	diff := want.Diff(page.Data[2].Definition())
	if len(diff) != 2 || !strings.HasPrefix(diff[0], "button: one_tap, want copy_code") || !strings.HasPrefix(diff[1], "supported_apps:") {
		t.Errorf("diff = %q", diff)
	}
	cfg.NoSecurityRecommendation, cfg.CodeExpirationMinutes, cfg.MessageSendTTLSeconds = true, 0, 60
	if diff := TemplateDefinition(cfg, "en").Definition().Diff(page.Data[0].Definition()); len(diff) != 3 {
		t.Errorf("diff = %q, want security, footer and ttl", diff)
	}
}

// TestTemplateClientErrors: Meta's error answers become *APIError without
// the token, even when Meta quotes it; a bad configuration is refused
// before any request.
func TestTemplateClientErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"message":"Error validating access token ` + testToken + `: Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"Axyz"}}`))
	}))
	defer srv.Close()
	c, err := NewTemplateClient(templateConfig(srv.URL, ButtonCopyCode))
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"list": func() error { _, err := c.List(context.Background(), testTemplate); return err },
		"create": func() error {
			_, err := c.Create(context.Background(), TemplateDefinition(templateConfig("", ""), "en"))
			return err
		},
		"update": func() error {
			return c.Update(context.Background(), "42", TemplateDefinition(templateConfig("", ""), "en"))
		},
	} {
		err := call()
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Code != 190 || apiErr.Subcode != 463 {
			t.Errorf("%s: err = %v, want Meta's 190", name, err)
			continue
		}
		if strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("%s: token not redacted: %v", name, err)
		}
	}
	bad := templateConfig(srv.URL, ButtonCopyCode)
	bad.WABAID, bad.AccessToken = "waba", ""
	if _, err := NewTemplateClient(bad); err == nil || !strings.Contains(err.Error(), "META_WABA_ID") || !strings.Contains(err.Error(), "META_ACCESS_TOKEN") {
		t.Errorf("bad config: %v", err)
	}
}

// TestTemplateListPaging: List follows Meta's cursor and keeps only the
// exact name.
func TestTemplateListPaging(t *testing.T) {
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		if r.URL.Path != "/v23.0/"+testWABA+"/message_templates" || r.Header.Get("Authorization") != "Bearer "+testToken {
			http.Error(w, "wrong request", http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("after") == "" {
			_, _ = w.Write([]byte(`{"data":[{"id":"1","name":"veriflow_code","language":"en_US","status":"APPROVED"},
				{"id":"9","name":"veriflow_code_old","language":"en_US","status":"APPROVED"}],
				"paging":{"cursors":{"after":"QVFI"},"next":"https://graph.facebook.com/next"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"data":[{"id":"2","name":"veriflow_code","language":"it","status":"PENDING"}],"paging":{"cursors":{"after":"QVFJ"}}}`))
	}))
	defer srv.Close()
	c, err := NewTemplateClient(templateConfig(srv.URL, ButtonCopyCode))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.List(context.Background(), testTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "1" || got[1].ID != "2" || got[1].Status != "PENDING" {
		t.Errorf("List = %+v", got)
	}
	if len(queries) != 2 || !strings.Contains(queries[0], "name=veriflow_code") || !strings.Contains(queries[1], "after=QVFI") {
		t.Errorf("queries = %q", queries)
	}
}
