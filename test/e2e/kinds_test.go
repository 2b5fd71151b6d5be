package e2e

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/evidence"
)

// TestEveryKind runs each of the five kinds end to end in sandbox mode.
func TestEveryKind(t *testing.T) {
	s := need(t)
	tx := map[string]string{"amount": "25.00", "currency": "USD", "payee": "Globex Corp."}
	doc := map[string]string{"sha256": strings.Repeat("0f", 32), "title": "NDA 2026"}
	cases := []struct {
		kind    string
		to      map[string]string
		extra   map[string]any // start fields = check fields
		channel string         // first channel of the kind's plan
		checks  int
	}{
		{"signup", map[string]string{"phone": "+15005550000"}, nil, "whatsapp", 5},
		{"transaction", map[string]string{"phone": "+15005550000"}, map[string]any{"transaction": tx}, "whatsapp", 3},
		{"password_reset", map[string]string{"email": "reset@example.com", "phone": "+15005550000"}, nil, "email", 5},
		{"two_factor", map[string]string{"phone": "+15005550000"}, nil, "whatsapp", 5},
		{"signature", map[string]string{"email": "signer2@example.com"}, map[string]any{"document": doc}, "email", 3},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			body := map[string]any{"kind": c.kind, "to": c.to, "locale": "de"}
			check := map[string]any{}
			for k, v := range c.extra {
				body[k], check[k] = v, v
			}
			v := s.start(t, s.globex, body)
			if v.Kind != c.kind || v.ChecksLeft != c.checks {
				t.Fatalf("start: %+v", v)
			}
			to := c.to["phone"]
			if c.channel == "email" {
				to = c.to["email"]
			}
			got := s.waitFor(t, s.globex, v.ID, 10*time.Second, "first send", func(v verification) bool {
				return len(v.Attempts) > 0 && v.Attempts[0].SentAt != nil
			})
			if got.Attempts[0].Channel != c.channel {
				t.Fatalf("first channel %s, want %s", got.Attempts[0].Channel, c.channel)
			}
			check["code"] = s.sandboxCode(t, s.globex, to, v.ID)
			r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.globex, check)
			if got := r.verification(t); r.Status != 200 || got.Status != "approved" {
				t.Fatalf("check: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestSignatureEvidence approves a signature, fetches its evidence and the
// public keys, verifies the evidence offline, and shows that changing one
// byte breaks it.
func TestSignatureEvidence(t *testing.T) {
	s := need(t)
	doc := map[string]string{"sha256": strings.Repeat("5a", 32), "title": "Contratto 2026-001"}
	v := s.start(t, s.acme, map[string]any{"kind": "signature", "to": map[string]string{"phone": "+15005550001"},
		"document": doc, "client_ip": "203.0.113.7"})
	if r := s.call(t, "GET", "/v1/verifications/"+v.ID+"/evidence", s.acme, nil); r.Status != 404 {
		t.Fatalf("evidence before approval: %d %s", r.Status, r.Body)
	}
	s.waitFor(t, s.acme, v.ID, 10*time.Second, "sms delivered", func(v verification) bool {
		return len(v.Attempts) == 2 && v.Attempts[1].Status == "delivered"
	})
	code := s.sandboxCode(t, s.acme, "+15005550001", v.ID)
	if r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.acme, map[string]any{"code": code, "document": doc}); r.verification(t).Status != "approved" {
		t.Fatalf("check: %s", r.Body)
	}
	s.recordHistory(t, "signature_evidence", v.ID)
	ev := s.call(t, "GET", "/v1/verifications/"+v.ID+"/evidence", s.acme, nil)
	keys := s.call(t, "GET", "/v1/keys", s.acme, nil)
	if ev.Status != 200 || keys.Status != 200 {
		t.Fatalf("evidence %d %s / keys %d %s", ev.Status, ev.Body, keys.Status, keys.Body)
	}
	if r := s.call(t, "GET", "/v1/verifications/"+v.ID+"/evidence", s.globex, nil); r.Status != 404 {
		t.Fatalf("another tenant reads the evidence: %d", r.Status)
	}
	dir := t.TempDir()
	evFile, keysFile := filepath.Join(dir, "evidence.json"), filepath.Join(dir, "keys.json")
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(evFile, ev.Body)
	write(keysFile, keys.Body)
	rec, err := evidence.VerifyFile(evFile, keysFile)
	if err != nil {
		t.Fatalf("offline verification: %v", err)
	}
	if rec.VerificationID != v.ID || rec.TenantID != "acme" || rec.Document.SHA256 != doc["sha256"] || rec.Channel != "sms" ||
		rec.ClientIP != "203.0.113.7" || rec.Destination.Masked != "+15005****01" || rec.DeliveredAt == nil || rec.SentAt == nil {
		t.Fatalf("record %+v", rec)
	}
	if bytes.Contains(ev.Body, []byte("+15005550001")) {
		t.Fatal("evidence holds the destination in clear")
	}
	// One byte changed in the record: the second of approved_at.
	i := bytes.Index(ev.Body, []byte(`"approved_at":"`)) + len(`"approved_at":"2026-11-21T21:44:3`)
	tampered := bytes.Clone(ev.Body)
	tampered[i] = '0' + (tampered[i]-'0'+1)%10
	write(evFile, tampered)
	if _, err := evidence.VerifyFile(evFile, keysFile); err == nil {
		t.Fatal("tampered evidence verified")
	}
}

func TestSupersede(t *testing.T) {
	s := need(t)
	phone := "+393331230001"
	first := s.start(t, s.acme, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": phone}})
	second := s.start(t, s.acme, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": phone}})
	s.waitFor(t, s.acme, first.ID, 10*time.Second, "superseded", func(v verification) bool { return v.Status == "canceled" })
	s.waitForEvent(t, first.ID, "superseded")
	// Opting out keeps both live; another tenant or kind is never touched.
	third := s.start(t, s.acme, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": phone}, "supersede": false})
	other := s.start(t, s.globex, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": phone}})
	tx := map[string]any{"kind": "transaction", "to": map[string]string{"phone": phone},
		"transaction": map[string]string{"amount": "1", "currency": "EUR", "payee": "A"}}
	tx1, tx2 := s.start(t, s.acme, tx), s.start(t, s.acme, tx)
	for _, id := range []string{second.ID, third.ID, other.ID, tx1.ID, tx2.ID} {
		if r := s.call(t, "GET", "/v1/verifications/"+id, s.keyFor(id, other.ID), nil); r.verification(t).Status != "pending" {
			t.Errorf("%s: %s", id, r.Body)
		}
	}
	if r := s.call(t, "GET", "/v1/verifications/"+first.ID+"/evidence", s.acme, nil); r.Status != http.StatusNotFound {
		t.Errorf("evidence of a two_factor: %d", r.Status)
	}
}

func (s *stack) keyFor(id, globexID string) string {
	if id == globexID {
		return s.globex
	}
	return s.acme
}
