package config

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/policy"
	"github.com/veriflow/veriflow/internal/providers/email"
	"github.com/veriflow/veriflow/internal/providers/twilio"
)

func TestProviderRoutingDefaults(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tok", "META_PHONE_NUMBER_ID": "123", "META_ACCESS_TOKEN": "EAA",
		"SMTP_HOST": "mail.example.com", "SMTP_TLS": "tls",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"whatsapp": "meta", "sms": "twilio", "email": "smtp"}
	for ch, p := range want {
		if c.Providers.Channels[ch] != p {
			t.Errorf("%s routed to %q, want %q", ch, c.Providers.Channels[ch], p)
		}
	}
	if smtp, ok := c.Providers.Settings["smtp"].(email.Config); !ok || smtp.Port != 465 || !smtp.Enabled() {
		t.Errorf("smtp settings %+v: want the implicit TLS port 465", c.Providers.Settings["smtp"])
	}
	if tw := c.Providers.Settings["twilio"]; tw == nil || !tw.Enabled() {
		t.Errorf("twilio settings %+v: not enabled", tw)
	}
	if s := c.String(); strings.Contains(s, "tok") || strings.Contains(s, "EAA") {
		t.Errorf("String leaks a provider secret: %s", s)
	}
}

func TestProviderRoutingFallbacks(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want map[string]string
	}{
		"whatsapp over twilio with a template": {
			env:  map[string]string{"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tok", "TWILIO_WHATSAPP_CONTENT_SID": "HX1"},
			want: map[string]string{"whatsapp": "twilio", "sms": "twilio"},
		},
		"no whatsapp over twilio without a template": {
			env:  map[string]string{"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tok"},
			want: map[string]string{"sms": "twilio"},
		},
		"explicit route wins": {
			env: map[string]string{"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tok", "TWILIO_WHATSAPP_CONTENT_SID": "HX1",
				"META_PHONE_NUMBER_ID": "123", "META_ACCESS_TOKEN": "EAA", "VERIFLOW_CHANNEL_WHATSAPP": "twilio"},
			want: map[string]string{"whatsapp": "twilio", "sms": "twilio"},
		},
		"voice once a caller id is set": {
			env:  map[string]string{"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tok", "TWILIO_VOICE_FROM": "+15005550006"},
			want: map[string]string{"sms": "twilio", "voice": "twiliovoice"},
		},
		"nothing configured": {env: map[string]string{}, want: map[string]string{}},
	} {
		c, err := FromEnv(env(tc.env))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !maps.Equal(c.Providers.Channels, tc.want) {
			t.Errorf("%s: channels %v, want %v", name, c.Providers.Channels, tc.want)
		}
		if len(c.Providers.Settings) != 4 {
			t.Errorf("%s: settings of %d providers, want 4", name, len(c.Providers.Settings))
		}
	}
}

func TestRoutingErrors(t *testing.T) {
	for name, e := range map[string]map[string]string{
		"unknown provider":  {"VERIFLOW_CHANNEL_SMS": "pigeon"},
		"cannot serve":      {"VERIFLOW_CHANNEL_EMAIL": "twilio"},
		"meta for sms":      {"VERIFLOW_CHANNEL_SMS": "meta"},
		"list, one unknown": {"VERIFLOW_CHANNEL_WHATSAPP": "meta,pigeon"},
		"list, one cannot":  {"VERIFLOW_CHANNEL_SMS": "twilio,meta"},
		"list, twice":       {"VERIFLOW_CHANNEL_WHATSAPP": "meta,meta"},
		"list, empty":       {"VERIFLOW_CHANNEL_WHATSAPP": " , "},
		"breaker failures":  {"VERIFLOW_BREAKER_FAILURES": "0"},
		"breaker cooldown":  {"VERIFLOW_BREAKER_COOLDOWN": "soon"},
		"negative rate":     {"VERIFLOW_PROVIDER_RATE_META": "-1"},
		"bad smtp port":     {"SMTP_PORT": "smtp"},
		"missing file":      {"VERIFLOW_CONFIG_FILE": "/nonexistent/veriflow.json"},
	} {
		if _, err := FromEnv(env(e)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "veriflow.json")
	body := `{"env": {"TWILIO_ACCOUNT_SID": "ACfile", "TWILIO_AUTH_TOKEN": "t", "VERIFLOW_HTTP_ADDR": "127.0.0.1:9999"},
	          "policies": {"transaction": {"ttl_seconds": 240}},
	          "tenants": {"acme": {"channels": {"whatsapp": "twilio"}, "policies": {"signup": {"max_checks": 2}}}}}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := FromEnv(env(map[string]string{"VERIFLOW_CONFIG_FILE": path, "VERIFLOW_HTTP_ADDR": "127.0.0.1:7000"}))
	if err != nil {
		t.Fatal(err)
	}
	if tw, _ := c.Providers.Settings["twilio"].(twilio.Config); tw.AccountSID != "ACfile" || c.HTTPAddr != "127.0.0.1:7000" || c.Providers.Tenants["acme"]["whatsapp"] != "twilio" {
		t.Fatalf("file not merged under the environment: %+v", c)
	}
	if c.Policies.Resolve("acme", "signup", policy.Settings{}).Code.MaxChecks != 2 ||
		c.Policies.Resolve("globex", "transaction", policy.Settings{}).Code.TTL != 240*time.Second {
		t.Fatalf("policies not loaded: %+v", c.Policies)
	}
	if err := os.WriteFile(path, []byte(`{"env": {}, "policies": {"signup": {"ttl_seconds": 5}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := FromEnv(env(map[string]string{"VERIFLOW_CONFIG_FILE": path})); err == nil {
		t.Fatal("out-of-range policy accepted")
	}
	if err := os.WriteFile(path, []byte(`{"env": {}, "tenants": {"acme": {"channels": {"email": "meta"}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := FromEnv(env(map[string]string{"VERIFLOW_CONFIG_FILE": path})); err == nil {
		t.Fatal("tenant routing to a provider that cannot send email accepted")
	}
	if err := os.WriteFile(path, []byte(`{"env": {}, "colour": "red"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := FromEnv(env(map[string]string{"VERIFLOW_CONFIG_FILE": path})); err == nil {
		t.Fatal("unknown config file key accepted")
	}
}

func TestProviderRouteLists(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tok", "TWILIO_WHATSAPP_CONTENT_SID": "HX1",
		"META_PHONE_NUMBER_ID": "123", "META_ACCESS_TOKEN": "EAA", "VERIFLOW_CHANNEL_WHATSAPP": "meta, twilio",
		"VERIFLOW_BREAKER_FAILURES": "3", "VERIFLOW_PROVIDER_RATE_TWILIO": "100", "VERIFLOW_PROVIDER_TIMEOUT": "2s"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Providers.Channels["whatsapp"]; got != "meta, twilio" {
		t.Errorf("whatsapp route %q", got)
	}
	f := c.Providers.Failover
	if f.BreakerFailures != 3 || f.BreakerCooldown != 30*time.Second || f.CallTimeout != 2*time.Second ||
		f.Rates["meta"] != 80 || f.Rates["twilio"] != 100 {
		t.Errorf("failover settings %+v", f)
	}
}
