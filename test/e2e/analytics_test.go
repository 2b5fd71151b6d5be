package e2e

import (
	"net/url"
	"testing"
	"time"
)

// TestChannelAnalytics: a fresh tenant's verifications show up per channel:
// WhatsApp failing over to SMS, SMS approving.
func TestChannelAnalytics(t *testing.T) {
	s := need(t)
	key := s.newTenantKey(t, "analytics")
	since := time.Now().UTC().Add(-time.Minute)
	for range 2 {
		v := s.start(t, key, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": "+15005550001"}, "supersede": false})
		s.waitFor(t, key, v.ID, 10*time.Second, "sms delivered", func(v verification) bool {
			return len(v.Attempts) == 2 && v.Attempts[1].Status == "delivered"
		})
		code := s.sandboxCode(t, key, "+15005550001", v.ID)
		if r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", key, map[string]string{"code": code}); r.verification(t).Status != "approved" {
			t.Fatalf("check: %s", r.Body)
		}
	}
	var got struct {
		Channels []struct {
			Channel        string   `json:"channel"`
			Sent           int      `json:"sent"`
			Delivered      int      `json:"delivered"`
			Failed         int      `json:"failed"`
			Approvals      int      `json:"approvals"`
			ConversionRate float64  `json:"conversion_rate"`
			Median         *float64 `json:"median_seconds_to_approve"`
		} `json:"channels"`
	}
	q := url.Values{"from": {since.Format(time.RFC3339)}, "kind": {"two_factor"}}
	r := s.call(t, "GET", "/v1/analytics/channels?"+q.Encode(), key, nil)
	if r.Status != 200 {
		t.Fatalf("analytics: %d %s", r.Status, r.Body)
	}
	r.decode(t, &got)
	by := map[string]int{}
	for i, c := range got.Channels {
		by[c.Channel] = i
	}
	wa, sms := got.Channels[by["whatsapp"]], got.Channels[by["sms"]]
	if len(got.Channels) != 2 || wa.Sent != 2 || wa.Failed != 2 || wa.Approvals != 0 ||
		sms.Sent != 2 || sms.Delivered != 2 || sms.Approvals != 2 || sms.ConversionRate != 1 || sms.Median == nil {
		t.Fatalf("analytics %s", r.Body)
	}
	if r := s.call(t, "GET", "/v1/analytics/channels?from=yesterday", key, nil); r.Status != 400 {
		t.Fatalf("bad from: %d", r.Status)
	}

	// The same verifications by channel × country × provider: the +1 number
	// is a US one, the approvals go to the delivered SMS attempts.
	var att struct {
		Currency string `json:"currency"`
		Rows     []struct {
			Channel   string         `json:"channel"`
			Country   string         `json:"country"`
			Sent      int            `json:"sent"`
			Delivered int            `json:"delivered"`
			Failed    int            `json:"failed"`
			FailedBy  map[string]int `json:"failed_by_reason"`
			Approvals int            `json:"approvals"`
			P50       *float64       `json:"p50_seconds_to_deliver"`
			Approve   *float64       `json:"p50_seconds_to_approve"`
		} `json:"rows"`
		Totals struct {
			Approvals int `json:"approvals"`
		} `json:"totals"`
	}
	r = s.call(t, "GET", "/v1/analytics/attempts?"+q.Encode(), key, nil)
	if r.Status != 200 {
		t.Fatalf("attempt analytics: %d %s", r.Status, r.Body)
	}
	r.decode(t, &att)
	if len(att.Rows) != 2 || att.Currency != "USD" || att.Totals.Approvals != 2 {
		t.Fatalf("attempt analytics %s", r.Body)
	}
	for _, row := range att.Rows {
		ok := row.Country == "US" && row.Sent == 2
		switch row.Channel {
		case "whatsapp":
			ok = ok && row.Failed == 2 && len(row.FailedBy) > 0 && row.Approvals == 0
		case "sms":
			ok = ok && row.Delivered == 2 && row.Approvals == 2 && row.P50 != nil && row.Approve != nil
		default:
			ok = false
		}
		if !ok {
			t.Fatalf("attempt analytics %s", r.Body)
		}
	}
	if r := s.call(t, "GET", "/v1/analytics/attempts?kind=pigeon", key, nil); r.Status != 400 {
		t.Fatalf("bad kind: %d", r.Status)
	}
}
