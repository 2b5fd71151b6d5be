package client

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestAttemptAnalytics(t *testing.T) {
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.Path + "?" + r.URL.RawQuery
		if r.URL.Query().Get("kind") == "pigeon" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"type":"about:blank","title":"Bad Request","status":400,"code":"invalid_request",
				"errors":[{"field":"kind","message":"must be one of signup"}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"from":"2026-11-01T00:00:00Z","to":"2026-12-01T00:00:00Z","kind":"signup","currency":"USD",
			"rows":[{"channel":"sms","country":"US","provider":"twilio","sent":10,"delivered":8,"read":0,"failed":2,
			"failed_by_reason":{"invalid_number":2},"approvals":4,"conversion_rate":0.444,"p50_seconds_to_deliver":2.5,
			"p90_seconds_to_deliver":7.1,"p50_seconds_to_approve":21,"p90_seconds_to_approve":48,"price":0.0079,"spend":0.079,
			"cost_per_approval":0.01975}],"totals":{"sent":10,"approvals":4,"spend":0.079,"cost_per_approval":0.01975}}`))
	}))
	defer srv.Close()
	c := New(srv.URL, "vf_test_x", nil)
	from := time.Date(2026, 11, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600))
	a, err := c.AttemptAnalytics(t.Context(), AnalyticsQuery{From: from, To: from.Add(30 * 24 * time.Hour), Kind: "signup"})
	if err != nil {
		t.Fatal(err)
	}
	if gotQuery != "/v1/analytics/attempts?from=2026-11-01T00%3A00%3A00Z&kind=signup&to=2026-12-01T00%3A00%3A00Z" {
		t.Errorf("query %s", gotQuery)
	}
	r := a.Rows[0]
	if len(a.Rows) != 1 || r.Country != "US" || r.FailedByReason["invalid_number"] != 2 || *r.Price != 0.0079 ||
		a.Totals.Approvals != 4 || *a.Totals.CostPerApproval != 0.01975 || a.Currency != "USD" {
		t.Errorf("decoded %+v", a)
	}
	_, err = c.AttemptAnalytics(t.Context(), AnalyticsQuery{Kind: "pigeon"})
	if !IsCode(err, "invalid_request") {
		t.Errorf("a bad kind: %v", err)
	}
	if _, err := c.ChannelAnalytics(t.Context(), AnalyticsQuery{}); err != nil || gotQuery != "/v1/analytics/channels?" {
		t.Errorf("channels: %v %s", err, gotQuery)
	}
}

func TestRiskReport(t *testing.T) {
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.Path + "?" + r.URL.RawQuery
		_, _ = w.Write([]byte(`{"from":"2026-11-01T00:00:00Z","to":"2026-11-02T00:00:00Z","mode":"shadow",
			"counts":[{"decision":"challenge","mode":"shadow","verifications":3,"approved":1}],
			"verifications":[{"id":"vf_1","kind":"signup","status":"expired","country":"UZ","created_at":"2026-11-01T10:00:00Z",
			"decision":"challenge","mode":"shadow","reasons":[{"signal":"unverified_hour","scope":"country","key":"UZ","value":21,"threshold":20}]}]}`))
	}))
	defer srv.Close()
	c := New(srv.URL, "vf_test_x", nil)
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rep, err := c.RiskReport(t.Context(), from, from.Add(24*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if gotQuery != "/v1/risk/report?from=2026-11-01T00%3A00%3A00Z&limit=10&to=2026-11-02T00%3A00%3A00Z" {
		t.Errorf("query %s", gotQuery)
	}
	if rep.Mode != "shadow" || rep.Counts[0].Approved != 1 || rep.Verifications[0].Reasons[0].Threshold != 20 || *rep.Verifications[0].Country != "UZ" {
		t.Errorf("decoded %+v", rep)
	}
}
