package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/verify"
)

// TestAnalyticsAttemptsView: the attempts endpoint's body, as the handler
// builds it, satisfies its schema (with and without figures, priced and
// not), and money, seconds and rates are rounded.
func TestAnalyticsAttemptsView(t *testing.T) {
	v := newSpecValidator(t)
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(30 * 24 * time.Hour)
	d := func(s float64) *time.Duration { x := time.Duration(s * float64(time.Second)); return &x }
	cpa := 0.0237
	report := verify.AttemptReport{Currency: "USD", Sent: 13, Approvals: 4, Spend: 0.1185, CostPerApproval: &cpa, Rows: []verify.AttemptFigures{
		{AttemptStats: store.AttemptStats{Channel: "sms", Country: "US", Provider: "twilio", Sent: 10, Delivered: 8, Read: 0, Failed: 2,
			FailedBy: map[string]int{"invalid_number": 1, "unknown": 1}, Approvals: 4, Reached: 9,
			DeliverP50: d(2.5), DeliverP90: d(7.123456), ApproveP50: d(21), ApproveP90: d(48)},
			Conversion: 4.0 / 9, Price: 0.0079, Priced: true, Spend: 0.079, CostPerApproval: &cpa},
		{AttemptStats: store.AttemptStats{Channel: "whatsapp", Country: "unknown", Provider: "meta", Sent: 3, Failed: 3,
			FailedBy: map[string]int{"not_on_whatsapp": 3}, Reached: 3}},
	}}
	body := attemptAnalytics(from, to, "", report)
	v.mustMatch("AttemptAnalytics", body)
	v.mustMatch("AttemptAnalytics", attemptAnalytics(from, to, "signup", verify.AttemptReport{Currency: "EUR"}))
	r := body.Rows[0]
	if r.ConversionRate != 0.444 || *r.P90SecondsToDeliver != 7.123 || *r.Price != 0.0079 || r.Spend != 0.079 {
		t.Errorf("row %+v", r)
	}
	if w := body.Rows[1]; w.Price != nil || w.CostPerApproval != nil || w.P50SecondsToDeliver != nil || len(w.FailedByReason) != 1 {
		t.Errorf("unpriced row %+v", w)
	}
	if raw, _ := json.Marshal(attemptAnalytics(from, to, "", verify.AttemptReport{Rows: []verify.AttemptFigures{{}}})); !bytes.Contains(raw, []byte(`"failed_by_reason":{}`)) {
		t.Errorf("a row without failures: %s", raw)
	}
}

// TestAnalyticsPeriod: both analytics endpoints refuse a bad period or
// kind with a 400 problem naming the field.
func TestAnalyticsPeriod(t *testing.T) {
	v := newSpecValidator(t)
	for query, field := range map[string]string{
		"from=yesterday":          "from",
		"to=2026-13-01T00:00:00Z": "to",
		"from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z": "to",
		"from=2026-01-01T00:00:00Z&to=2026-11-01T00:00:00Z": "to",
		"kind=pigeon": "kind",
	} {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest(http.MethodGet, "/v1/analytics/attempts?"+query, nil)
		if _, _, _, ok := analyticsPeriod(c); ok || w.Code != http.StatusBadRequest {
			t.Errorf("%s: ok %v, status %d", query, ok, w.Code)
			continue
		}
		v.mustMatchJSON("Problem", w.Body.Bytes())
		var p struct {
			Errors []FieldError `json:"errors"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || len(p.Errors) == 0 || p.Errors[0].Field != field {
			t.Errorf("%s: %s", query, w.Body.Bytes())
		}
	}
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/v1/analytics/attempts?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&kind=signup", nil)
	if from, to, kind, ok := analyticsPeriod(c); !ok || kind != "signup" || to.Sub(from) != 30*24*time.Hour {
		t.Errorf("a good period: %v %v %q %v", from, to, kind, ok)
	}
}
