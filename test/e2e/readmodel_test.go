package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestReadModelSupersededBeforeSend is issue 14's path through HTTP: a start
// superseded (or canceled) at once, before its first send, reads back with
// attempts as a JSON array, and the channel analytics answer for its tenant
// and for another tenant.
func TestReadModelSupersededBeforeSend(t *testing.T) {
	s := need(t)
	key := s.newTenantKey(t, "readmodel")
	since := time.Now().UTC().Add(-time.Minute)
	body := map[string]any{"kind": "two_factor", "to": map[string]string{"phone": "+15005550000"}}
	first := s.start(t, key, body)
	second := s.start(t, key, body) // supersedes the first
	canceled := s.start(t, key, map[string]any{"kind": "signup", "to": map[string]string{"phone": "+15005550005"}})
	if r := s.call(t, "POST", "/v1/verifications/"+canceled.ID+"/cancel", key, nil); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	for _, id := range []string{first.ID, canceled.ID} {
		s.waitFor(t, key, id, 10*time.Second, "canceled", func(v verification) bool { return v.Status == "canceled" })
		var raw map[string]json.RawMessage
		s.call(t, "GET", "/v1/verifications/"+id, key, nil).decode(t, &raw)
		if a := raw["attempts"]; len(a) == 0 || a[0] != '[' {
			t.Fatalf("%s: attempts %s", id, a)
		}
	}
	s.waitFor(t, key, second.ID, 10*time.Second, "delivered", func(v verification) bool {
		return len(v.Attempts) > 0 && v.Attempts[0].Status != "sending"
	})
	q := url.Values{"from": {since.Format(time.RFC3339)}}
	for _, k := range []string{key, s.newTenantKey(t, "readmodel_other"), s.acme} {
		if r := s.call(t, "GET", "/v1/analytics/channels?"+q.Encode(), k, nil); r.Status != http.StatusOK {
			t.Fatalf("analytics: %d %s", r.Status, r.Body)
		}
	}
}
