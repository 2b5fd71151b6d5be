package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

const testAppSecret = "0123456789abcdef0123456789abcdef"

// sign computes X-Hub-Signature-256 for body the way Meta does.
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// A delivered status notification, shaped like Meta's documented example.
const deliveredPayload = `{
  "object": "whatsapp_business_account",
  "entry": [{
    "id": "102290129340398",
    "changes": [{
      "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "statuses": [{
          "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
          "status": "delivered",
          "timestamp": "1750263773",
          "recipient_id": "16505551234",
          "conversation": {"id": "5ad7e1b95a3b4f2e8f0c7c3e", "origin": {"type": "authentication"}},
          "pricing": {"billable": true, "pricing_model": "PMP", "category": "authentication", "type": "regular"}
        }]
      },
      "field": "messages"
    }]
  }]
}`

func TestVerifySignature(t *testing.T) {
	body := []byte(deliveredPayload)
	genuine := sign(testAppSecret, body)
	if !VerifySignature(testAppSecret, body, genuine) {
		t.Fatal("genuine signature rejected")
	}
	p := newTestProvider(t, func() Config { c := testConfig("", nil); c.AppSecret = testAppSecret; return c }())
	if !p.VerifySignature(body, genuine) {
		t.Error("Provider.VerifySignature rejected a genuine signature")
	}
	changed := []byte(strings.Replace(deliveredPayload, "delivered", "failed", 1))
	tests := []struct {
		name   string
		secret string
		body   []byte
		header string
	}{
		{"forged with another secret", testAppSecret, body, sign("another-secret", body)},
		{"empty header", testAppSecret, body, ""},
		{"prefix only", testAppSecret, body, "sha256="},
		{"no prefix", testAppSecret, body, strings.TrimPrefix(genuine, "sha256=")},
		{"sha1 prefix", testAppSecret, body, "sha1=" + strings.TrimPrefix(genuine, "sha256=")},
		{"not hex", testAppSecret, body, "sha256=" + strings.Repeat("zz", 32)},
		{"truncated signature", testAppSecret, body, genuine[:len(genuine)-2]},
		{"extended signature", testAppSecret, body, genuine + "00"},
		{"truncated body", testAppSecret, body[:len(body)-1], genuine},
		{"empty body", testAppSecret, nil, genuine},
		{"body changed after signing", testAppSecret, changed, genuine},
		{"empty secret", "", body, sign("", body)},
		{"two signatures", testAppSecret, body, genuine + "," + genuine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if VerifySignature(tt.secret, tt.body, tt.header) {
				t.Error("accepted")
			}
		})
	}
}

func TestChallenge(t *testing.T) {
	q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"s3cret-token"}, "hub.challenge": {"1158201444"}}
	if got, ok := Challenge(q, "s3cret-token"); !ok || got != "1158201444" {
		t.Fatalf("Challenge = %q, %v", got, ok)
	}
	p := newTestProvider(t, func() Config { c := testConfig("", nil); c.VerifyToken = "s3cret-token"; return c }())
	if got, ok := p.Challenge(q); !ok || got != "1158201444" {
		t.Errorf("Provider.Challenge = %q, %v", got, ok)
	}
	tests := []struct {
		name  string
		q     url.Values
		token string
	}{
		{"wrong token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"guess"}, "hub.challenge": {"1"}}, "s3cret-token"},
		{"token prefix", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"s3cret"}, "hub.challenge": {"1"}}, "s3cret-token"},
		{"wrong mode", url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {"s3cret-token"}, "hub.challenge": {"1"}}, "s3cret-token"},
		{"no mode", url.Values{"hub.verify_token": {"s3cret-token"}, "hub.challenge": {"1"}}, "s3cret-token"},
		{"no challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"s3cret-token"}}, "s3cret-token"},
		{"html challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"s3cret-token"}, "hub.challenge": {"<script>"}}, "s3cret-token"},
		{"empty configured token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {""}, "hub.challenge": {"1"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := Challenge(tt.q, tt.token); ok || got != "" {
				t.Errorf("Challenge = %q, %v; want rejected", got, ok)
			}
		})
	}
}

func TestParseWebhookDelivered(t *testing.T) {
	got, err := ParseWebhook([]byte(deliveredPayload))
	if err != nil {
		t.Fatal(err)
	}
	want := []contract.Receipt{{
		Provider:   "meta",
		MessageID:  "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
		Status:     contract.AttemptDelivered,
		OccurredAt: time.Unix(1750263773, 0).UTC(),
	}}
	assertReceipts(t, got, want)
}

func TestParseWebhookMixed(t *testing.T) {
	// Two entries: a read and a failed (131026) status in the first, a sent
	// status and an inbound message in the second, plus a status Veriflow
	// does not track and a non-messages field.
	body := `{
	  "object": "whatsapp_business_account",
	  "entry": [
	    {"id": "1", "changes": [
	      {"field": "messages", "value": {"messaging_product": "whatsapp", "statuses": [
	        {"id": "wamid.READ", "status": "read", "timestamp": "1700000001", "recipient_id": "39333"},
	        {"id": "wamid.FAIL", "status": "failed", "timestamp": "1700000002", "recipient_id": "39333",
	         "errors": [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
	                     "error_data": {"details": "Message Undeliverable."}}]}
	      ]}}
	    ]},
	    {"id": "2", "changes": [
	      {"field": "messages", "value": {"messaging_product": "whatsapp",
	        "contacts": [{"profile": {"name": "Ada"}, "wa_id": "39333"}],
	        "messages": [{"from": "39333", "id": "wamid.INBOUND", "timestamp": "1700000003", "type": "text", "text": {"body": "hi"}}]}},
	      {"field": "messages", "value": {"messaging_product": "whatsapp", "statuses": [
	        {"id": "wamid.SENT", "status": "sent", "timestamp": 1700000004, "recipient_id": "39333"},
	        {"id": "wamid.DEL", "status": "deleted", "timestamp": "1700000005", "recipient_id": "39333"},
	        {"id": "wamid.FAIL2", "status": "failed", "timestamp": "1700000006", "recipient_id": "39333",
	         "errors": [{"code": 130429, "title": "Rate limit hit"}]},
	        {"id": "wamid.FAIL3", "status": "failed", "timestamp": "1700000007", "recipient_id": "39333"}
	      ]}},
	      {"field": "message_template_status_update", "value": {"event": "APPROVED", "message_template_id": 1}}
	    ]}
	  ]
	}`
	got, err := ParseWebhook([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	at := func(s int64) time.Time { return time.Unix(s, 0).UTC() }
	want := []contract.Receipt{
		{Provider: "meta", MessageID: "wamid.READ", Status: contract.AttemptRead, OccurredAt: at(1700000001)},
		{Provider: "meta", MessageID: "wamid.FAIL", Status: contract.AttemptFailed, Error: "not_on_whatsapp", OccurredAt: at(1700000002)},
		{Provider: "meta", MessageID: "wamid.SENT", Status: contract.AttemptSent, OccurredAt: at(1700000004)},
		{Provider: "meta", MessageID: "wamid.FAIL2", Status: contract.AttemptFailed, Error: "rate_limited", OccurredAt: at(1700000006)},
		{Provider: "meta", MessageID: "wamid.FAIL3", Status: contract.AttemptFailed, Error: "delivery_failed", OccurredAt: at(1700000007)},
	}
	assertReceipts(t, got, want)
}

func TestParseWebhookInboundOnly(t *testing.T) {
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
	  "messaging_product":"whatsapp","messages":[{"from":"39333","id":"wamid.X","timestamp":"1700000000","type":"text","text":{"body":"hi"}}]}}]}]}`
	got, err := ParseWebhook([]byte(body))
	if err != nil || len(got) != 0 {
		t.Fatalf("ParseWebhook = %v, %v; want no receipts", got, err)
	}
}

func TestParseWebhookErrors(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"wamid.%d","status":"sent","timestamp":"1700000000"}`, i)
		}
		b.WriteString(`]}}]}]}`)
		return b.String()
	}
	if got, err := ParseWebhook([]byte(many(MaxWebhookStatuses))); err != nil || len(got) != MaxWebhookStatuses {
		t.Fatalf("%d statuses: %d receipts, %v", MaxWebhookStatuses, len(got), err)
	}
	tests := []struct {
		name string
		body string
	}{
		{"malformed JSON", `{"object":"whatsapp_business_account","entry":[`},
		{"not JSON", `hello`},
		{"empty", ``},
		{"JSON array", `[]`},
		{"other object", `{"object":"page","entry":[]}`},
		{"no object", `{"entry":[]}`},
		{"oversized status list", many(MaxWebhookStatuses + 1)},
		{"oversized body", `{"object":"whatsapp_business_account","pad":"` + strings.Repeat("x", MaxWebhookBytes) + `"}`},
		{"bad timestamp", `{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":[{"id":"w","status":"sent","timestamp":"yesterday"}]}}]}]}`},
		{"missing timestamp", `{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":[{"id":"w","status":"sent"}]}}]}]}`},
		{"missing id", `{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":[{"status":"read","timestamp":"1700000000"}]}}]}]}`},
		{"wrong types", `{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":"sent"}}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWebhook([]byte(tt.body))
			if err == nil {
				t.Fatalf("ParseWebhook accepted it: %v", got)
			}
			if len(err.Error()) > 1000 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
}

func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(deliveredPayload))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":[{"id":"w","status":"failed","timestamp":"1","errors":[{"code":131026}]}]}}]}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := ParseWebhook(body)
		if err != nil {
			return
		}
		if len(got) > MaxWebhookStatuses {
			t.Fatalf("%d receipts", len(got))
		}
		for _, r := range got {
			if r.Provider != "meta" || r.MessageID == "" || !r.Status.Valid() || r.OccurredAt.IsZero() {
				t.Fatalf("bad receipt %+v", r)
			}
			if r.Status.Failed() != (r.Error != "") {
				t.Fatalf("receipt error %q with status %s", r.Error, r.Status)
			}
		}
	})
}

func assertReceipts(t *testing.T, got, want []contract.Receipt) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d receipts, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("receipt %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
