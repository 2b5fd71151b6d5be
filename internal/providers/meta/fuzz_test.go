package meta

import (
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers/providerstest"
)

// Fuzz targets of the WhatsApp Cloud API webhook. Run one with
//
//	go test -run='^$' -fuzz='^FuzzParseWebhookReceipts$' -fuzztime=60s ./provider/meta
//
// or all of them with `make fuzz`. Plain `go test` runs the seeds below and
// the corpus in testdata/fuzz.
//
// FuzzParseWebhook (webhook_test.go) checks the basic receipt invariants;
// FuzzParseWebhookReceipts checks more of them (statuses Meta can send,
// timestamps, error sizes). The realistic notifications below seed both:
// testdata/fuzz/FuzzParseWebhook holds them too.

// Real-shaped Cloud API notifications.
var fuzzWebhookSeeds = []string{
	// Delivered, as in Meta's documentation.
	`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA","status":"delivered","timestamp":"1750263773","recipient_id":"16505551234","conversation":{"id":"5ad7e1b95a3b4f2e8f0c7c3e","origin":{"type":"authentication"}},"pricing":{"billable":true,"pricing_model":"PMP","category":"authentication","type":"regular"}}]},"field":"messages"}]}]}`,
	// Failed: 131026, message undeliverable.
	`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.HBgLMzkzMzMxMjM0NTY3FQIAERgSMEQ3RjBFQTRGMDlEMEYzQkQ5AA==","status":"failed","timestamp":"1750263801","recipient_id":"393331234567","errors":[{"code":131026,"title":"Message undeliverable","message":"Message undeliverable","error_data":{"details":"Message Undeliverable."},"href":"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]}]},"field":"messages"}]}]}`,
	// Several entries: read, failed, sent (numeric timestamp), deleted,
	// an inbound message and a template status update.
	`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","statuses":[{"id":"wamid.READ","status":"read","timestamp":"1700000001","recipient_id":"39333"},{"id":"wamid.FAIL","status":"failed","timestamp":"1700000002","errors":[{"code":130429,"title":"Rate limit hit"}]}]}}]},{"id":"2","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","contacts":[{"profile":{"name":"Ada"},"wa_id":"39333"}],"messages":[{"from":"39333","id":"wamid.INBOUND","timestamp":"1700000003","type":"text","text":{"body":"hi"}}]}},{"field":"messages","value":{"statuses":[{"id":"wamid.SENT","status":"sent","timestamp":1700000004},{"id":"wamid.DEL","status":"deleted","timestamp":"1700000005"},{"id":"wamid.FAIL3","status":"failed","timestamp":"1700000007"}]}},{"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":1}}]}]}`,
	// Invalid ones.
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":[{"id":"w","status":"sent","timestamp":"yesterday"}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":[{"status":"read","timestamp":"1700000000"}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":[{"id":"w","status":"sent","timestamp":"1e9"}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":[{"id":"w","status":"failed","timestamp":"1700000000","errors":[{"code":"131026"}]}]}}]}]}`,
	`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":"sent"}}]}]}`,
	`{"object":"page","entry":[]}`,
	`{"object":"whatsapp_business_account","entry":[`,
	`[]`,
	`null`,
	``,
}

func FuzzParseWebhookReceipts(f *testing.F) {
	for _, s := range fuzzWebhookSeeds {
		f.Add([]byte(s))
	}
	big := []byte(`{"object":"whatsapp_business_account","pad":"` + strings.Repeat("x", MaxWebhookBytes) + `"}`)
	if _, err := ParseWebhook(big); err == nil {
		f.Fatalf("a body of %d bytes was parsed", len(big))
	}
	maxTime := time.Unix(1<<40, 0)

	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := ParseWebhook(body)
		if err != nil {
			if got != nil {
				t.Fatalf("receipts %v with error %v", got, err)
			}
			if n := len(err.Error()); n > 1000 {
				t.Fatalf("error of %d bytes", n)
			}
			return
		}
		if len(got) > MaxWebhookStatuses {
			t.Fatalf("%d receipts", len(got))
		}
		for _, r := range got {
			if r.Provider != "meta" || r.MessageID == "" || r.ID != 0 {
				t.Fatalf("receipt %+v", r)
			}
			switch r.Status {
			case contract.AttemptSent, contract.AttemptDelivered, contract.AttemptRead, contract.AttemptFailed:
			default:
				t.Fatalf("status %q", r.Status)
			}
			if r.OccurredAt.Location() != time.UTC || r.OccurredAt.Unix() <= 0 || r.OccurredAt.After(maxTime) {
				t.Fatalf("occurred at %v", r.OccurredAt)
			}
			if (r.Status == contract.AttemptFailed) != (r.Error != "") {
				t.Fatalf("status %s with error %q", r.Status, r.Error)
			}
		}
	})
}

func FuzzVerifySignature(f *testing.F) {
	const secret = "0123456789abcdef0123456789abcdef"
	for i, s := range fuzzWebhookSeeds {
		f.Add(secret, []byte(s), providerstest.MetaSignature(secret, []byte(s)), uint16(i))
		f.Add(secret, []byte(s), providerstest.MetaSignature("another-secret", []byte(s)), uint16(i*41))
	}
	body := []byte(fuzzWebhookSeeds[0])
	genuine := providerstest.MetaSignature(secret, body)
	for _, h := range []string{"", "sha256=", strings.TrimPrefix(genuine, "sha256="), "sha1=" + genuine[7:], "sha256=" + strings.Repeat("zz", 32),
		genuine[:len(genuine)-2], genuine + "00", genuine + "," + genuine, "  " + genuine + "\n", "sha256=" + strings.ToUpper(genuine[7:])} {
		f.Add(secret, body, h, uint16(3))
	}
	f.Add("", body, providerstest.MetaSignature("", body), uint16(0))
	f.Add("s", []byte{}, "", uint16(0xffff))

	f.Fuzz(func(t *testing.T, secret string, body []byte, header string, pos uint16) {
		genuine := providerstest.MetaSignature(secret, body)
		if secret == "" {
			if VerifySignature(secret, body, header) || VerifySignature(secret, body, genuine) {
				t.Fatal("accepted with an empty secret")
			}
			return
		}
		// Arbitrary headers: only the genuine signature verifies (hex in
		// either case, white space around it).
		if VerifySignature(secret, body, header) {
			hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
			if !ok || !strings.EqualFold(hexSig, genuine[len("sha256="):]) {
				t.Fatalf("forged header %q accepted (genuine %q)", header, genuine)
			}
		}
		if !VerifySignature(secret, body, genuine) {
			t.Fatalf("genuine signature %q rejected", genuine)
		}
		// One byte of the MAC flipped: rejected.
		mac, err := hex.DecodeString(genuine[len("sha256="):])
		if err != nil {
			t.Fatal(err)
		}
		mac[int(pos)%len(mac)] ^= byte(pos>>8) | 1
		if flipped := "sha256=" + hex.EncodeToString(mac); VerifySignature(secret, body, flipped) {
			t.Fatalf("flipped signature %q accepted (genuine %q)", flipped, genuine)
		}
		// One byte of the body flipped: rejected.
		if len(body) > 0 {
			changed := append([]byte(nil), body...)
			changed[int(pos)%len(changed)] ^= byte(pos>>8) | 1
			if VerifySignature(secret, changed, genuine) {
				t.Fatalf("signature of %q accepted for %q", body, changed)
			}
		}
		// Another secret: rejected.
		if VerifySignature(secret+"x", body, genuine) {
			t.Fatal("signature accepted under another secret")
		}
	})
}

// checkChallenge asserts that Challenge answers q only for the configured
// token, and echoes only a harmless challenge.
func checkChallenge(t *testing.T, q url.Values, verifyToken string) {
	t.Helper()
	got, ok := Challenge(q, verifyToken)
	if !ok {
		if got != "" {
			t.Fatalf("rejected with challenge %q", got)
		}
		return
	}
	if verifyToken == "" || q.Get("hub.verify_token") != verifyToken {
		t.Fatalf("token %q accepted for configured %q", q.Get("hub.verify_token"), verifyToken)
	}
	if q.Get("hub.mode") != "subscribe" {
		t.Fatalf("mode %q accepted", q.Get("hub.mode"))
	}
	if got == "" || got != q.Get("hub.challenge") || len(got) > 128 {
		t.Fatalf("challenge %q echoed for %q", got, q.Get("hub.challenge"))
	}
	if strings.ContainsAny(got, "<>\"'& \t\r\n") {
		t.Fatalf("challenge %q echoed", got)
	}
}

func FuzzChallenge(f *testing.F) {
	for _, s := range []struct {
		query, token string
		present      bool
	}{
		{"hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=s3cret-token", "s3cret-token", false},
		{"hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess", "s3cret-token", false},
		{"hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=s3cret", "s3cret-token", false},
		{"hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=s3cret-token", "s3cret-token", false},
		{"hub.challenge=1&hub.verify_token=s3cret-token", "s3cret-token", false},
		{"hub.mode=subscribe&hub.verify_token=s3cret-token", "s3cret-token", false},
		{"hub.mode=subscribe&hub.challenge=%3Cscript%3Ealert(1)%3C/script%3E", "s3cret-token", true},
		{"hub.mode=subscribe&hub.challenge=%22onload%3D", "s3cret-token", true},
		{"hub.mode=subscribe&hub.challenge=abc-DEF_1.2", "tok", true},
		{"hub.mode=subscribe&hub.challenge=1&hub.challenge=%3Cb%3E", "tok", true},
		{"hub.mode=subscribe&hub.challenge=1&hub.verify_token=", "", false},
		{"hub.mode=subscribe&hub.challenge=1&hub.verify_token=tok&hub.verify_token=guess", "guess", false},
		{"hub.mode=subscribe;hub.challenge=1", "tok", true},
		{"", "", false},
	} {
		f.Add(s.query, s.token, s.present)
	}
	f.Fuzz(func(t *testing.T, query, token string, present bool) {
		q, _ := url.ParseQuery(query)
		if present {
			// Let the fuzzer reach the accepting path: the request carries
			// the configured token.
			q.Set("hub.verify_token", token)
		}
		checkChallenge(t, q, token)
		checkChallenge(t, q, token+"x")
		checkChallenge(t, q, strings.ToUpper(token))
	})
}
