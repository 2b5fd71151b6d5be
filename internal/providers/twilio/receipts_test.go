package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

// sign computes X-Twilio-Signature as Twilio documents it: HMAC-SHA1,
// keyed with the auth token, of the full URL followed by each POST
// parameter's name and value, sorted by name; base64-encoded.
func sign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	data := fullURL
	for _, k := range keys {
		for _, v := range form[k] {
			data += k + v
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(data))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestSignatureVerifier(t *testing.T) {
	const (
		primary   = "primaryToken0123456789abcdef0123"
		secondary = "secondaryToken0123456789abcdef01"
		callback  = "https://veriflow.example.com/webhooks/twilio/status"
	)
	form := url.Values{
		"MessageSid":    {testMessageSID},
		"MessageStatus": {"delivered"},
		"AccountSid":    {testAccountSID},
		"To":            {testTo},
		"ApiVersion":    {"2010-04-01"},
	}
	tampered := url.Values{}
	for k, v := range form {
		tampered[k] = v
	}
	tampered.Set("MessageStatus", "failed")
	withExtra := url.Values{"ErrorCode": {"30008"}}
	for k, v := range form {
		withExtra[k] = v
	}

	both := NewSignatureVerifier(primary, secondary)
	primaryOnly := NewSignatureVerifier(primary, "")
	cases := []struct {
		name string
		v    *SignatureVerifier
		url  string
		form url.Values
		sig  string
		want bool
	}{
		{"primary", both, callback, form, sign(primary, callback, form), true},
		{"secondary", both, callback, form, sign(secondary, callback, form), true},
		{"primary_only", primaryOnly, callback, form, sign(primary, callback, form), true},
		{"secondary_not_configured", primaryOnly, callback, form, sign(secondary, callback, form), false},
		{"url_with_default_port", both, "https://veriflow.example.com:443/webhooks/twilio/status", form, sign(primary, callback, form), true},
		{"forged", both, callback, form, sign("attackerToken0123456789abcdef0123", callback, form), false},
		{"garbage", both, callback, form, "bm90IGEgc2lnbmF0dXJl", false},
		{"tampered_param", both, callback, tampered, sign(primary, callback, form), false},
		{"added_param", both, callback, withExtra, sign(primary, callback, form), false},
		{"empty_signature", both, callback, form, "", false},
		{"wrong_url", both, "https://veriflow.example.com/webhooks/twilio/other", form, sign(primary, callback, form), false},
		{"wrong_host", both, "https://evil.example.com/webhooks/twilio/status", form, sign(primary, callback, form), false},
		{"no_tokens", NewSignatureVerifier("", ""), callback, form, sign("", callback, form), false},
		{"empty_primary_ignored", NewSignatureVerifier("", secondary), callback, form, sign("", callback, form), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.v.Verify(tc.url, tc.form, tc.sig); got != tc.want {
				t.Errorf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseStatusCallback(t *testing.T) {
	cases := []struct {
		status, errorCode string
		want              contract.AttemptStatus
		wantErr           string
	}{
		{"accepted", "", contract.AttemptQueued, ""},
		{"scheduled", "", contract.AttemptQueued, ""},
		{"queued", "", contract.AttemptQueued, ""},
		{"sending", "", contract.AttemptSent, ""},
		{"sent", "", contract.AttemptSent, ""},
		{"delivered", "", contract.AttemptDelivered, ""},
		{"read", "", contract.AttemptRead, ""},
		{"undelivered", "30003", contract.AttemptUndelivered, "unreachable"},
		{"undelivered", "30005", contract.AttemptUndelivered, "unknown_destination"},
		{"undelivered", "30006", contract.AttemptUndelivered, "landline_or_unreachable_carrier"},
		{"undelivered", "30007", contract.AttemptUndelivered, "carrier_filtered"},
		{"undelivered", "30008", contract.AttemptUndelivered, "unknown_error"},
		{"failed", "63003", contract.AttemptFailed, "not_on_whatsapp"},
		{"failed", "63024", contract.AttemptFailed, "invalid_recipient"},
		{"failed", "21610", contract.AttemptFailed, "unsubscribed"},
		{"failed", "12345", contract.AttemptFailed, "provider_error"},
		{"failed", "0", contract.AttemptFailed, ""},
		{"failed", "", contract.AttemptFailed, ""},
		{"canceled", "", contract.AttemptFailed, ""},
	}
	for _, tc := range cases {
		t.Run(tc.status+"_"+tc.errorCode, func(t *testing.T) {
			form := url.Values{"MessageSid": {testMessageSID}, "MessageStatus": {tc.status}, "SmsStatus": {tc.status}}
			if tc.errorCode != "" {
				form.Set("ErrorCode", tc.errorCode)
			}
			before := time.Now().UTC()
			r, err := ParseStatusCallback(form)
			if err != nil {
				t.Fatalf("ParseStatusCallback: %v", err)
			}
			if r.Provider != "twilio" || r.MessageID != testMessageSID || r.Status != tc.want || string(r.Error) != tc.wantErr || r.ID != 0 {
				t.Errorf("receipt %+v, want provider twilio, message %s, status %s, error %q", r, testMessageSID, tc.want, tc.wantErr)
			}
			if r.OccurredAt.Before(before) || r.OccurredAt.Location() != time.UTC {
				t.Errorf("OccurredAt %v: want now, in UTC", r.OccurredAt)
			}
		})
	}

	bad := []struct {
		name string
		form url.Values
	}{
		{"empty", url.Values{}},
		{"missing_sid", url.Values{"MessageStatus": {"delivered"}}},
		{"missing_status", url.Values{"MessageSid": {testMessageSID}}},
		{"unknown_status", url.Values{"MessageSid": {testMessageSID}, "MessageStatus": {"exploded"}}},
		{"inbound_status", url.Values{"MessageSid": {testMessageSID}, "MessageStatus": {"received"}}},
		{"uppercase_status", url.Values{"MessageSid": {testMessageSID}, "MessageStatus": {"DELIVERED"}}},
		{"bad_error_code", url.Values{"MessageSid": {testMessageSID}, "MessageStatus": {"failed"}, "ErrorCode": {"abc"}}},
	}
	for _, tc := range bad {
		t.Run("invalid_"+tc.name, func(t *testing.T) {
			if r, err := ParseStatusCallback(tc.form); !errors.Is(err, ErrInvalidCallback) {
				t.Errorf("ParseStatusCallback = %+v, %v; want ErrInvalidCallback", r, err)
			}
		})
	}
}
