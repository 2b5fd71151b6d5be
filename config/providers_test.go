package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	if c.Providers.SMTP.Port != 465 {
		t.Errorf("implicit TLS port %d", c.Providers.SMTP.Port)
	}
	if s := c.String(); strings.Contains(s, "tok") || strings.Contains(s, "EAA") {
		t.Errorf("String leaks a provider secret: %s", s)
	}
}

func TestRoutingErrors(t *testing.T) {
	for name, e := range map[string]map[string]string{
		"unknown provider": {"VERIFLOW_CHANNEL_SMS": "pigeon"},
		"cannot serve":     {"VERIFLOW_CHANNEL_EMAIL": "twilio"},
		"meta for sms":     {"VERIFLOW_CHANNEL_SMS": "meta"},
		"bad smtp port":    {"SMTP_PORT": "smtp"},
		"missing file":     {"VERIFLOW_CONFIG_FILE": "/nonexistent/veriflow.json"},
	} {
		if _, err := FromEnv(env(e)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "veriflow.json")
	body := `{"env": {"TWILIO_ACCOUNT_SID": "ACfile", "TWILIO_AUTH_TOKEN": "t", "VERIFLOW_HTTP_ADDR": "127.0.0.1:9999"},
	          "tenants": {"acme": {"whatsapp": "twilio"}}}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := FromEnv(env(map[string]string{"VERIFLOW_CONFIG_FILE": path, "VERIFLOW_HTTP_ADDR": "127.0.0.1:7000"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Providers.Twilio.AccountSID != "ACfile" || c.HTTPAddr != "127.0.0.1:7000" || c.Providers.Tenants["acme"]["whatsapp"] != "twilio" {
		t.Fatalf("file not merged under the environment: %+v", c)
	}
	if err := os.WriteFile(path, []byte(`{"env": {}, "tenants": {"acme": {"email": "meta"}}}`), 0o600); err != nil {
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
