package email

import (
	"testing"

	"github.com/veriflow/veriflow/internal/providers"
)

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		tls  TLSMode
		port int
		ok   bool
	}{
		{map[string]string{"SMTP_HOST": "mail"}, TLSStartTLS, 587, true},
		{map[string]string{"SMTP_HOST": "mail", "SMTP_TLS": "tls"}, TLSImplicit, 465, true},
		{map[string]string{"SMTP_HOST": "mail", "SMTP_TLS": "none"}, TLSNone, 25, true},
		{map[string]string{"SMTP_HOST": "mail", "SMTP_TLS": "none", "SMTP_PORT": "1025"}, TLSNone, 1025, true},
		{map[string]string{"SMTP_HOST": "mail", "SMTP_TLS": "weird"}, "weird", 0, true},
		{map[string]string{"SMTP_HOST": "mail", "SMTP_PORT": "smtp"}, TLSStartTLS, 587, false},
		{map[string]string{"SMTP_HOST": "mail", "SMTP_PORT": "70000"}, TLSStartTLS, 70000, false},
	} {
		c, err := ConfigFromEnv(func(k string) string { return tc.env[k] })
		if (err == nil) != tc.ok || c.TLS != tc.tls || c.Port != tc.port || c.Host != "mail" {
			t.Errorf("%v: %+v, %v", tc.env, c, err)
		}
	}
	c, _ := ConfigFromEnv(func(string) string { return "" })
	if c.Enabled() || c.DefaultChannels() != nil || c.Webhook(providers.Env{}) != nil {
		t.Errorf("unconfigured SMTP: %+v", c)
	}
}
