package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/veriflow/veriflow/client"
	"github.com/veriflow/veriflow/internal/codec"
)

type attemptWant struct{ channel, status, err string }

// TestSandboxNumbers runs every scripted sandbox number of the contract
// through the API with the Go client, as a product backend would: start,
// follow receipts and failover, read the code, check.
func TestSandboxNumbers(t *testing.T) {
	s := need(t)
	c := client.New(s.server.URL, s.acme, nil)
	cases := []struct {
		name   string
		phone  string
		status string // final status after the check (or without one)
		want   []attemptWant
	}{
		// WhatsApp reports reads: delivered, then read.
		{"all delivered", "+15005550000", "approved", []attemptWant{{"whatsapp", "read", ""}}},
		{"not on whatsapp", "+15005550001", "approved", []attemptWant{{"whatsapp", "failed", "not_on_whatsapp"}, {"sms", "delivered", ""}}},
		{"whatsapp silent", "+15005550002", "approved", []attemptWant{{"whatsapp", "sent", ""}, {"sms", "delivered", ""}}},
		{"every channel fails", "+15005550003", "failed", []attemptWant{{"whatsapp", "failed", "sandbox_failure"}, {"sms", "failed", "sandbox_failure"}, {"email", "failed", "sandbox_failure"}}},
		{"any other number", "+393331234567", "approved", []attemptWant{{"whatsapp", "read", ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			v, _, err := c.Start(ctx, client.StartRequest{Kind: "signup",
				To:                    client.Destinations{Phone: tc.phone, Email: "ada" + tc.phone[1:] + "@example.com"},
				ChannelTimeoutSeconds: 5})
			if err != nil || v.Status != "pending" || v.To.Phone == tc.phone || !strings.Contains(v.To.Phone, "*") {
				t.Fatalf("start answered %+v, %v", v, err)
			}
			got := waitClient(t, c, v.ID, 30*time.Second, "the scripted attempts", func(v client.Verification) bool {
				return slices.Equal(clientAttempts(v), tc.want)
			})
			if tc.status == "failed" {
				got = waitClient(t, c, v.ID, 10*time.Second, "failed", func(v client.Verification) bool { return v.Status == "failed" })
				if got.CompletedAt == nil {
					t.Fatal("failed verification without completed_at")
				}
				s.recordHistory(t, "sandbox_"+tc.phone[1:], v.ID)
				return
			}
			code := s.sandboxCode(t, s.acme, tc.phone, v.ID)
			checked, err := c.Check(ctx, v.ID, client.CheckRequest{Code: code})
			if err != nil || checked.Status != tc.status || checked.CompletedAt == nil {
				t.Fatalf("check answered %+v, %v", checked, err)
			}
			// The answer is synchronous: the read model already agrees.
			if g, err := c.Get(ctx, v.ID); err != nil || g.Status != tc.status {
				t.Fatalf("GET after approved check: %+v, %v", g, err)
			}
			s.recordHistory(t, "sandbox_"+tc.phone[1:], v.ID)
		})
	}
}

func clientAttempts(v client.Verification) []attemptWant {
	var out []attemptWant
	for _, a := range v.Attempts {
		out = append(out, attemptWant{a.Channel, a.Status, string(a.Error)})
	}
	return out
}

// waitClient polls the client's Get until cond holds, failing after timeout.
func waitClient(t *testing.T, c *client.Client, id string, timeout time.Duration, what string, cond func(client.Verification) bool) client.Verification {
	t.Helper()
	return poll(t, timeout, what, func() client.Verification {
		v, err := c.Get(t.Context(), id)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		return v
	}, cond)
}

func TestWrongCodeThenMaxChecks(t *testing.T) {
	s := need(t)
	v := s.start(t, s.acme, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": "+15005550000"}, "max_checks": 2})
	code := s.sandboxCodeEventually(t, s.acme, "+15005550000", v.ID)
	wrong := "0000000"[:6]
	if wrong == code {
		wrong = "111111"
	}
	r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.acme, map[string]string{"code": wrong})
	if got := r.verification(t); r.Status != 200 || got.Status != "pending" || got.ChecksLeft != 1 {
		t.Fatalf("first wrong check: %d %s", r.Status, r.Body)
	}
	r = s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.acme, map[string]string{"code": wrong})
	if got := r.verification(t); r.Status != 200 || got.Status != "max_checks_reached" || got.ChecksLeft != 0 {
		t.Fatalf("second wrong check: %d %s", r.Status, r.Body)
	}
	// A check after a final status changes nothing, even with the right code.
	r = s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.acme, map[string]string{"code": code})
	if got := r.verification(t); r.Status != 200 || got.Status != "max_checks_reached" {
		t.Fatalf("check after the end: %d %s", r.Status, r.Body)
	}
	s.recordHistory(t, "max_checks", v.ID)
}

// sandboxCodeEventually waits for the first send to reach the sandbox.
func (s *stack) sandboxCodeEventually(t *testing.T, key, to, id string) string {
	t.Helper()
	s.waitFor(t, key, id, 10*time.Second, "a sent attempt", func(v verification) bool {
		return len(v.Attempts) > 0 && v.Attempts[0].SentAt != nil
	})
	return s.sandboxCode(t, key, to, id)
}

func TestResendAndCancel(t *testing.T) {
	s := need(t)
	v := s.start(t, s.acme, map[string]any{"kind": "signup", "to": map[string]string{"phone": "+15005550000", "email": "grace@example.com"}})
	s.sandboxCodeEventually(t, s.acme, "+15005550000", v.ID)

	r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/resend", s.acme, nil)
	if p := r.problem(t); r.Status != http.StatusTooManyRequests || p.Code != "rate_limited" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("resend inside the cooldown: %d %s %v", r.Status, r.Body, r.Header)
	}
	r = s.call(t, "POST", "/v1/verifications/"+v.ID+"/resend", s.acme, map[string]string{"channel": "fax"})
	if p := r.problem(t); r.Status != 400 || !slices.Contains(p.fields(), "channel") {
		t.Fatalf("resend to an unknown channel: %d %s", r.Status, r.Body)
	}
	r = s.call(t, "POST", "/v1/verifications/"+v.ID+"/cancel", s.acme, nil)
	if got := r.verification(t); r.Status != 200 || got.Status != "canceled" || got.CompletedAt == nil {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	r = s.call(t, "POST", "/v1/verifications/"+v.ID+"/cancel", s.acme, nil)
	if got := r.verification(t); r.Status != 200 || got.Status != "canceled" {
		t.Fatalf("second cancel: %d %s", r.Status, r.Body)
	}
	r = s.call(t, "POST", "/v1/verifications/"+v.ID+"/resend", s.acme, nil)
	if p := r.problem(t); r.Status != http.StatusConflict || p.Code != "not_pending" {
		t.Fatalf("resend after cancel: %d %s", r.Status, r.Body)
	}
	s.recordHistory(t, "cancel", v.ID)
}

func TestResendAfterCooldownUsesNextChannel(t *testing.T) {
	s := need(t)
	if testing.Short() {
		t.Skip("waits out a 30 s cooldown")
	}
	v := s.start(t, s.acme, map[string]any{"kind": "signup", "to": map[string]string{"phone": "+15005550000", "email": "grace@example.com"}})
	s.sandboxCodeEventually(t, s.acme, "+15005550000", v.ID)
	deadline := time.Now().Add(45 * time.Second)
	for {
		r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/resend", s.acme, map[string]string{})
		if r.Status == http.StatusAccepted {
			got := r.verification(t)
			if len(got.Attempts) != 2 || got.Attempts[1].Channel != "sms" {
				t.Fatalf("resend answered %s", r.Body)
			}
			break
		}
		if r.Status != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("resend: %d %s", r.Status, r.Body)
		}
		time.Sleep(time.Second)
	}
	s.waitFor(t, s.acme, v.ID, 10*time.Second, "sms delivered", func(v verification) bool {
		return len(v.Attempts) == 2 && v.Attempts[1].Status == "delivered"
	})
	code := s.sandboxCode(t, s.acme, "+15005550000", v.ID)
	if r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.acme, map[string]string{"code": code}); r.verification(t).Status != "approved" {
		t.Fatalf("check after resend: %s", r.Body)
	}
	s.recordHistory(t, "resend", v.ID)
}

func TestIdempotencyKey(t *testing.T) {
	s := need(t)
	body := map[string]any{"kind": "signup", "to": map[string]string{"email": "idem@example.com"}}
	key := fmt.Sprintf("idem-%d", time.Now().UnixNano())
	first := s.call(t, "POST", "/v1/verifications", s.acme, body, "Idempotency-Key", key)
	again := s.call(t, "POST", "/v1/verifications", s.acme, body, "Idempotency-Key", key)
	if first.Status != 201 || again.Status != 200 || first.verification(t).ID != again.verification(t).ID {
		t.Fatalf("replay: %d %s / %d %s", first.Status, first.Body, again.Status, again.Body)
	}
	// Another tenant may use the same key for its own request.
	if other := s.call(t, "POST", "/v1/verifications", s.globex, body, "Idempotency-Key", key); other.Status != 201 {
		t.Fatalf("other tenant, same key: %d %s", other.Status, other.Body)
	}
	body["kind"] = "password_reset"
	r := s.call(t, "POST", "/v1/verifications", s.acme, body, "Idempotency-Key", key)
	if p := r.problem(t); r.Status != http.StatusConflict || p.Code != "idempotency_conflict" {
		t.Fatalf("different body: %d %s", r.Status, r.Body)
	}
}

func TestAuthAndTenantIsolation(t *testing.T) {
	s := need(t)
	v := s.start(t, s.acme, map[string]any{"kind": "signup", "to": map[string]string{"phone": "+15005550000"}})
	for name, key := range map[string]string{"missing": "", "malformed": "hello", "unknown": "vf_test_aaaaaaaaaaaa_BBBBBBBBBBBBBBBBBBBBBBBBBB",
		"wrong secret": s.acme[:len(s.acme)-4] + "ZZZZ", "revoked": s.revoked} {
		r := s.call(t, "GET", "/v1/verifications/"+v.ID, key, nil)
		if p := r.problem(t); r.Status != 401 || p.Code != "unauthorized" {
			t.Errorf("%s key: %d %s", name, r.Status, r.Body)
		}
	}
	// Another tenant's verification does not exist for globex.
	for _, path := range []string{"", "/check", "/resend", "/cancel"} {
		method, body := "POST", any(map[string]string{"code": "123456"})
		if path == "" {
			method, body = "GET", nil
		}
		r := s.call(t, method, "/v1/verifications/"+v.ID+path, s.globex, body)
		if p := r.problem(t); r.Status != 404 || p.Code != "not_found" {
			t.Errorf("globex %s %s: %d %s", method, path, r.Status, r.Body)
		}
	}
	if got := s.call(t, "GET", "/v1/verifications/"+v.ID, s.acme, nil).verification(t); got.Status != "pending" {
		t.Fatalf("globex's attempts changed acme's verification: %+v", got)
	}
	// Sandbox messages are for test keys, and only the tenant's own.
	if r := s.call(t, "GET", "/v1/sandbox/messages", s.acmeLive, nil); r.Status != 403 {
		t.Errorf("live key reads sandbox: %d", r.Status)
	}
	r := s.call(t, "GET", "/v1/sandbox/messages?to=%2B15005550000", s.globex, nil)
	if r.Status != 200 || strings.Contains(string(r.Body), v.ID) {
		t.Errorf("globex sees acme's sandbox messages: %s", r.Body)
	}
}

func TestLiveKeyWithoutProviderFails(t *testing.T) {
	s := need(t)
	v := s.start(t, s.acmeLive, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": "+393331234567"}})
	got := s.waitFor(t, s.acmeLive, v.ID, 15*time.Second, "failed", func(v verification) bool { return v.Status == "failed" })
	for _, a := range got.Attempts {
		if a.Error != "channel_not_configured" {
			t.Fatalf("attempt %+v", a)
		}
	}
}

func TestTransactionBinding(t *testing.T) {
	s := need(t)
	tx := map[string]string{"amount": "149.90", "currency": "EUR", "payee": "ACME S.p.A."}
	v := s.start(t, s.acme, map[string]any{"kind": "transaction", "to": map[string]string{"phone": "+15005550000"}, "transaction": tx})
	code := s.sandboxCodeEventually(t, s.acme, "+15005550000", v.ID)
	r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.acme, map[string]any{"code": code,
		"transaction": map[string]string{"amount": "1499.00", "currency": "EUR", "payee": "ACME S.p.A."}})
	p := r.problem(t)
	if r.Status != http.StatusConflict || p.Code != "binding_mismatch" || p.ChecksLeft == nil || *p.ChecksLeft != 2 {
		t.Fatalf("mismatch: %d %s", r.Status, r.Body)
	}
	r = s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.acme, map[string]any{"code": code})
	if p := r.problem(t); r.Status != 400 || !slices.Contains(p.fields(), "transaction") {
		t.Fatalf("check without the transaction: %d %s", r.Status, r.Body)
	}
	r = s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.acme, map[string]any{"code": code,
		"transaction": map[string]string{"amount": "149.9", "currency": "eur", "payee": "ACME S.p.A."}})
	if got := r.verification(t); r.Status != 200 || got.Status != "approved" || got.ChecksLeft != 2 {
		t.Fatalf("matching check: %d %s", r.Status, r.Body)
	}
	s.recordHistory(t, "transaction_binding", v.ID)
}

func TestSignatureBinding(t *testing.T) {
	s := need(t)
	doc := map[string]string{"sha256": strings.Repeat("ab", 32), "title": "Contract 2026-001"}
	v := s.start(t, s.acme, map[string]any{"kind": "signature", "to": map[string]string{"email": "signer@example.com"}, "document": doc})
	code := s.sandboxCodeEventually(t, s.acme, "signer@example.com", v.ID)
	other := map[string]string{"sha256": strings.Repeat("cd", 32), "title": "Contract 2026-001"}
	if r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.acme, map[string]any{"code": code, "document": other}); r.Status != 409 {
		t.Fatalf("other document: %d %s", r.Status, r.Body)
	}
	r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.acme, map[string]any{"code": code, "document": doc})
	if got := r.verification(t); got.Status != "approved" {
		t.Fatalf("same document: %d %s", r.Status, r.Body)
	}
}

// TestBadInput sends malformed requests: each gets a 400 problem naming its
// fields, and none creates anything.
func TestBadInput(t *testing.T) {
	s := need(t)
	before := s.countVerifications(t, "acme")
	cases := []struct {
		name   string
		body   any
		status int
		fields []string
	}{
		{"not json", `{"kind":`, 400, nil},
		{"array", `[]`, 400, nil},
		{"empty", ``, 400, nil},
		{"two values", `{"kind":"signup","to":{"email":"a@b.co"}} {}`, 400, nil},
		{"unknown field", map[string]any{"kind": "signup", "to": map[string]string{"email": "a@b.co"}, "colour": "red"}, 400, []string{"colour"}},
		{"wrong type", map[string]any{"kind": "signup", "to": map[string]string{"email": "a@b.co"}, "max_checks": "five"}, 400, []string{"max_checks"}},
		{"missing kind and to", map[string]any{}, 400, []string{"kind", "to"}},
		{"unknown kind", map[string]any{"kind": "login", "to": map[string]string{"email": "a@b.co"}}, 400, []string{"kind"}},
		{"bad phone", map[string]any{"kind": "signup", "to": map[string]string{"phone": "3331234567"}}, 400, []string{"to.phone"}},
		{"invalid phone", map[string]any{"kind": "signup", "to": map[string]string{"phone": "+39123"}}, 400, []string{"to.phone"}},
		{"bad email", map[string]any{"kind": "signup", "to": map[string]string{"email": "Ada <ada@example.com>"}}, 400, []string{"to.email"}},
		{"ranges", map[string]any{"kind": "signup", "to": map[string]string{"email": "a@b.co"}, "code_length": 3, "ttl_seconds": 7200,
			"max_checks": 0, "channel_timeout_seconds": 1}, 400, []string{"channel_timeout_seconds", "code_length", "ttl_seconds", "max_checks"}},
		{"unknown channel", map[string]any{"kind": "signup", "to": map[string]string{"email": "a@b.co"}, "channels": []string{"email", "pigeon", "email"}}, 400, []string{"channels[1]", "channels[2]"}},
		{"voice not last", map[string]any{"kind": "signup", "to": map[string]string{"phone": "+393331234567"}, "channels": []string{"voice", "sms"}}, 400, []string{"channels"}},
		{"unknown channel goal", map[string]any{"kind": "signup", "to": map[string]string{"email": "a@b.co"}, "channel_goal": "seen"}, 400, []string{"channel_goal"}},
		{"no reachable channel", map[string]any{"kind": "signup", "to": map[string]string{"email": "a@b.co"}, "channels": []string{"sms"}}, 400, []string{"channels"}},
		{"transaction missing", map[string]any{"kind": "transaction", "to": map[string]string{"email": "a@b.co"}}, 400, []string{"transaction"}},
		{"transaction bad", map[string]any{"kind": "transaction", "to": map[string]string{"email": "a@b.co"},
			"transaction": map[string]string{"amount": "1e3", "currency": "EURO", "payee": ""}}, 400, []string{"transaction.amount", "transaction.currency", "transaction.payee"}},
		{"binding on the wrong kind", map[string]any{"kind": "signup", "to": map[string]string{"email": "a@b.co"},
			"document": map[string]string{"sha256": strings.Repeat("a", 64), "title": "x"}}, 400, []string{"document"}},
		{"document bad", map[string]any{"kind": "signature", "to": map[string]string{"email": "a@b.co"},
			"document": map[string]string{"sha256": "abc", "title": ""}}, 400, []string{"document.sha256", "document.title"}},
		{"bad locale and ip", map[string]any{"kind": "signup", "to": map[string]string{"email": "a@b.co"}, "locale": "not a locale!", "client_ip": "300.1.1.1"}, 400, []string{"locale", "client_ip"}},
		{"oversized", `{"kind":"signup","metadata":{"x":"` + strings.Repeat("a", 70000) + `"}}`, 413, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.call(t, "POST", "/v1/verifications", s.acme, c.body)
			p := r.problem(t)
			if r.Status != c.status || p.Status != c.status || p.Code == "" || p.Type == "" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			for _, f := range c.fields {
				if !slices.Contains(p.fields(), f) {
					t.Errorf("errors %v lack %q", p.fields(), f)
				}
			}
		})
	}
	if after := s.countVerifications(t, "acme"); after != before {
		t.Fatalf("bad requests created %d verifications", after-before)
	}

	v := s.start(t, s.acme, map[string]any{"kind": "signup", "to": map[string]string{"email": "bad-checks@example.com"}})
	for name, body := range map[string]any{"letters": map[string]string{"code": "12ab56"}, "short": map[string]string{"code": "12"},
		"missing": map[string]string{}, "binding on signup": map[string]any{"code": "123456", "transaction": map[string]string{"amount": "1", "currency": "EUR", "payee": "x"}}} {
		r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.acme, body)
		if r.Status != 400 || r.problem(t).Code != "invalid_request" {
			t.Errorf("check %s: %d %s", name, r.Status, r.Body)
		}
	}
	if got := s.call(t, "GET", "/v1/verifications/"+v.ID, s.acme, nil).verification(t); got.ChecksLeft != 5 {
		t.Fatalf("malformed checks cost checks: %+v", got)
	}
	for _, path := range []string{"/v1/verifications/nope", "/v1/verifications/vf_01XXXXXXXXXXXXXXXXXXXXXXXX", "/v1/nothing"} {
		if r := s.call(t, "GET", path, s.acme, nil); r.Status != 404 || r.problem(t).Code != "not_found" {
			t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}
}

func (s *stack) countVerifications(t *testing.T, tenant string) int {
	t.Helper()
	n, err := s.app.Store.CountVerifications(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHealthAndSecurityHeaders(t *testing.T) {
	s := need(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := s.call(t, "GET", path, "", nil); r.Status != 200 {
			t.Errorf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	for _, r := range []response{s.call(t, "GET", "/v1/verifications/vf_x", s.acme, nil), s.call(t, "POST", "/v1/verifications", s.acme, "{")} {
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
	}
}

// TestTemporalView finds an approved verification by its search attributes
// and checks that its history holds neither the code nor the phone number.
func TestTemporalView(t *testing.T) {
	s := need(t)
	phone := "+393331234599"
	v := s.start(t, s.globex, map[string]any{"kind": "password_reset", "to": map[string]string{"phone": phone}, "code_length": 10})
	code := s.sandboxCodeEventually(t, s.globex, phone, v.ID)
	if r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", s.globex, map[string]string{"code": code}); r.verification(t).Status != "approved" {
		t.Fatalf("check: %s", r.Body)
	}
	ctx := context.Background()
	query := fmt.Sprintf(`VerificationKind = "password_reset" AND VerificationStatus = "approved" AND TenantID = "globex" AND WorkflowId = "verification/%s"`, v.ID)
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := s.app.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Executions) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("verification not found by search attributes (%d results)", len(res.Executions))
		}
		time.Sleep(200 * time.Millisecond)
	}
	h := s.historyText(t, v.ID, s.decryptedPayloads)
	if !strings.Contains(h, "code_hash") || !strings.Contains(h, `"status":"approved"`) {
		t.Fatalf("payloads were not decoded: %d bytes", len(h))
	}
	if strings.Contains(h, code) {
		t.Fatal("the code is in the workflow history")
	}
}

// decryptedPayloads returns the decrypted data of every encrypted payload
// in a protojson-encoded history event, as an engineer with the payload
// keys (through the codec server) reads them.
func (s *stack) decryptedPayloads(t *testing.T, event []byte) []byte {
	t.Helper()
	c := codec.NewCodec(s.app.PayloadKeys)
	var out []byte
	walkPayloads(t, event, func(md map[string]any, data []byte) {
		p := &commonpb.Payload{Metadata: map[string][]byte{}, Data: data}
		for k, v := range md {
			p.Metadata[k], _ = base64.StdEncoding.DecodeString(fmt.Sprint(v))
		}
		if dec, err := c.Decode([]*commonpb.Payload{p}); err == nil {
			out = append(out, dec[0].GetData()...)
		}
	})
	return out
}

// decodedPayloads returns the base64-decoded data of every payload in a
// protojson-encoded history event (no decryption).
func decodedPayloads(t *testing.T, event []byte) []byte {
	t.Helper()
	var out []byte
	walkPayloads(t, event, func(_ map[string]any, data []byte) { out = append(out, data...) })
	return out
}

// walkPayloads calls f with the metadata and decoded data of every payload
// (an object with "metadata" and "data") in a protojson document.
func walkPayloads(t *testing.T, doc []byte, f func(metadata map[string]any, data []byte)) {
	t.Helper()
	var tree any
	if err := json.Unmarshal(doc, &tree); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(n any) {
		switch x := n.(type) {
		case map[string]any:
			if str, ok := x["data"].(string); ok {
				if b, err := base64.StdEncoding.DecodeString(str); err == nil {
					md, _ := x["metadata"].(map[string]any)
					f(md, b)
				}
			}
			for _, v := range x {
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(tree)
}

// TestCheckRightAfterStartIsApproved: a client that checks the moment the
// start returns (faster than any person, as a load test does) may reach the
// workflow before the first code was sent; the check waits for it and is
// approved instead of counting as a wrong code.
func TestCheckRightAfterStartIsApproved(t *testing.T) {
	s := need(t)
	c := client.New(s.server.URL, s.acme, nil)
	noSupersede := false
	v, _, err := c.Start(t.Context(), client.StartRequest{Kind: "signup", To: client.Destinations{Phone: "+15005550000"}, Supersede: &noSupersede})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Check(t.Context(), v.ID, client.CheckRequest{Code: s.app.Secrets.Code(v.ID, 0, "", 6)})
	if err != nil || got.Status != "approved" || got.ChecksLeft != v.ChecksLeft {
		t.Fatalf("check answered %+v, %v; want approved with %d checks left", got, err, v.ChecksLeft)
	}
	s.recordHistory(t, "check_right_after_start", v.ID)
}
