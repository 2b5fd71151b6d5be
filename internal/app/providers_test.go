package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
)

type nopIngester struct{}

func (nopIngester) Ingest(context.Context, contract.Receipt) error { return nil }

// TestWebhookRoutesAreDocumented: the registered providers' webhooks serve
// exactly the webhook operations of api/openapi.json, and, unconfigured,
// answer 404 problem+json.
func TestWebhookRoutesAreDocumented(t *testing.T) {
	raw, err := os.ReadFile("../../api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		if strings.HasPrefix(path, "/webhooks/") {
			for method := range ops {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	if len(documented) == 0 {
		t.Fatal("no /webhooks/ operation in openapi.json: the scan is broken")
	}
	a := &App{Log: slog.New(slog.DiscardHandler)}
	served := map[string]bool{}
	for _, w := range a.webhooks(nopIngester{}) {
		for _, r := range w.Routes() {
			served[r.Method+" "+r.Path] = true
			rec := httptest.NewRecorder()
			r.Handler.ServeHTTP(rec, httptest.NewRequest(r.Method, r.Path, strings.NewReader("")))
			if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("unconfigured %s %s: %d %q", r.Method, r.Path, rec.Code, rec.Header().Get("Content-Type"))
			}
		}
	}
	if !maps.Equal(served, documented) {
		t.Errorf("webhooks serve %v, openapi.json documents %v", slices.Sorted(maps.Keys(served)), slices.Sorted(maps.Keys(documented)))
	}
}

// TestRouterBuildsEnabledProviders: the router holds a sender for each
// enabled provider and the configured routes; a provider whose sender
// configuration is invalid stops the worker with its name.
func TestRouterBuildsEnabledProviders(t *testing.T) {
	env := map[string]string{
		"TWILIO_ACCOUNT_SID": "AC" + strings.Repeat("0", 32), "TWILIO_AUTH_TOKEN": "token",
		"TWILIO_FROM": "+15005550006", "SMTP_HOST": "mail.example.com", "SMTP_FROM": "Veriflow <no-reply@example.com>",
	}
	c, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a := &App{Config: c, Log: slog.New(slog.DiscardHandler)}
	r, err := a.Router(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(r.Providers)); !slices.Equal(got, []string{"smtp", "twilio"}) {
		t.Errorf("providers %v, want smtp and twilio", got)
	}
	if r.Channels[contract.ChannelSMS] != "twilio" || r.Channels[contract.ChannelEmail] != "smtp" || r.Channels[contract.ChannelWhatsApp] != "" {
		t.Errorf("channels %v", r.Channels)
	}
	p, err := r.For(contract.ModeLive, "acme", contract.ChannelSMS)
	if err != nil || p.Name() != "twilio" {
		t.Errorf("For(sms) = %v, %v", p, err)
	}

	env["TWILIO_ACCOUNT_SID"] = "AC1" // loads, but is no valid sender
	if c, err = config.FromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	a.Config = c
	if _, err := a.Router(nil); err == nil || !strings.HasPrefix(err.Error(), "twilio: ") {
		t.Errorf("invalid twilio sender: %v", err)
	}
}
