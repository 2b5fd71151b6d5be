package config

import (
	"strings"
	"testing"
)

func TestPrices(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil || c.Prices.Currency != "USD" {
		t.Fatalf("default prices %+v, %v", c.Prices, err)
	}
	if v, ok := c.Prices.Lookup("twilio", "sms", "US"); v != 0 || ok {
		t.Fatalf("no table: %v %v", v, ok)
	}
	path := writeFile(t, `{"price_currency": "EUR", "prices": {
		"twilio": {"sms": {"US": 0.0079, "*": 0.05}, "*": {"*": 0.02}},
		"*": {"email": {"*": 0.001}}}}`)
	c, err = FromEnv(env(map[string]string{"VERIFLOW_CONFIG_FILE": path}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		provider, channel, country string
		want                       float64
		ok                         bool
	}{
		{"twilio", "sms", "US", 0.0079, true},
		{"twilio", "sms", "unknown", 0.05, true},
		{"twilio", "voice", "US", 0.02, true},
		{"smtp", "email", "FR", 0.001, true},
		{"meta", "whatsapp", "IN", 0, false},
	} {
		if v, ok := c.Prices.Lookup(tc.provider, tc.channel, tc.country); v != tc.want || ok != tc.ok {
			t.Errorf("%s/%s/%s: %v %v, want %v %v", tc.provider, tc.channel, tc.country, v, ok, tc.want, tc.ok)
		}
	}
	if c.Prices.Currency != "EUR" {
		t.Errorf("currency %q", c.Prices.Currency)
	}
	for body, want := range map[string]string{
		`{"prices": {"twilio": {"sms": {"US": -1}}}}`: "twilio.sms.US",
		`{"price_currency": "dollars"}`:               "price_currency",
	} {
		_, err := FromEnv(env(map[string]string{"VERIFLOW_CONFIG_FILE": writeFile(t, body)}))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", body, err)
		}
	}
}
