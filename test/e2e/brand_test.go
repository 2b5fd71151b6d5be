package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/client"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/verify"
)

// TestTenantBrandInSMS: a tenant with a display name and a web origin gets
// SMS that say its name and end with the WebOTP origin-bound line; a
// tenant without them gets the deployment's default name and no autofill.
func TestTenantBrandInSMS(t *testing.T) {
	s := need(t)
	ctx := t.Context()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	tenant := "brand_" + hex.EncodeToString(suffix)
	key, err := s.server.CreateKey(ctx, tenant, contract.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	svc := verify.New(verify.Deps{Store: s.app.Store})
	if _, err := svc.SetTenantName(ctx, tenant, "Acme Bank"); err != nil {
		t.Fatal(err)
	}
	origin := "example.com"
	if _, err := svc.SetTenantAutofill(ctx, tenant, &origin, nil); err != nil {
		t.Fatal(err)
	}
	plain := s.newTenantKey(t, "plainbrand")

	// +15005550001 is not on WhatsApp: the plan falls over to SMS.
	const phone = "+15005550001"
	body := func(key string) client.SandboxMessage {
		t.Helper()
		v := s.start(t, key, map[string]any{"kind": "two_factor", "locale": "it", "to": map[string]string{"phone": phone},
			"channels": []string{"whatsapp", "sms"}})
		return poll(t, 20*time.Second, "the SMS in the sandbox", func() client.SandboxMessage {
			msgs, err := client.New(s.server.URL, key, nil).SandboxMessages(ctx, phone)
			if err != nil {
				t.Fatalf("sandbox: %v", err)
			}
			for _, m := range msgs {
				if m.VerificationID == v.ID && m.Channel == "sms" {
					return m
				}
			}
			return client.SandboxMessage{}
		}, func(m client.SandboxMessage) bool { return m.ID != "" })
	}

	m := body(key)
	lines := strings.Split(m.Body, "\n")
	if len(lines) != 2 || lines[1] != "@example.com #"+m.Code {
		t.Fatalf("SMS does not end with the origin-bound line: %q", m.Body)
	}
	if want := m.Code + " è il tuo codice Acme Bank per accedere. "; !strings.HasPrefix(lines[0], want) || strings.Contains(m.Body, "Veriflow") {
		t.Fatalf("SMS does not say the tenant's name: %q", m.Body)
	}

	m = body(plain)
	if want := m.Code + " è il tuo codice Veriflow per accedere. "; !strings.HasPrefix(m.Body, want) || strings.Contains(m.Body, "\n") {
		t.Fatalf("a tenant without branding: %q", m.Body)
	}
}
