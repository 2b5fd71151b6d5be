package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AnalyticsQuery is a period [From, To) (zero: the last 24 hours, at most
// 93 days) and an optional kind.
type AnalyticsQuery struct {
	From, To time.Time
	Kind     string
}

func (q AnalyticsQuery) encode() string {
	v := url.Values{}
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339))
	}
	if q.Kind != "" {
		v.Set("kind", q.Kind)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// ChannelStats are one channel's figures (GET /v1/analytics/channels).
type ChannelStats struct {
	Channel                string   `json:"channel"`
	Sent                   int      `json:"sent"`
	Delivered              int      `json:"delivered"`
	Failed                 int      `json:"failed"`
	Approvals              int      `json:"approvals"`
	ConversionRate         float64  `json:"conversion_rate"`
	MedianSecondsToApprove *float64 `json:"median_seconds_to_approve"`
}

// ChannelAnalytics returns per-channel figures of a period.
func (c *Client) ChannelAnalytics(ctx context.Context, q AnalyticsQuery) ([]ChannelStats, error) {
	var out struct {
		Channels []ChannelStats `json:"channels"`
	}
	_, err := c.do(ctx, http.MethodGet, "/v1/analytics/channels"+q.encode(), nil, nil, &out)
	return out.Channels, err
}

// AttemptStats are one channel × country × provider's attempt figures
// (GET /v1/analytics/attempts); nil durations and prices have no sample or
// no price table entry.
type AttemptStats struct {
	Channel             string         `json:"channel"`
	Country             string         `json:"country"`
	Provider            string         `json:"provider"`
	Sent                int            `json:"sent"`
	Delivered           int            `json:"delivered"`
	Read                int            `json:"read"`
	Failed              int            `json:"failed"`
	FailedByReason      map[string]int `json:"failed_by_reason"`
	Approvals           int            `json:"approvals"`
	ConversionRate      float64        `json:"conversion_rate"`
	P50SecondsToDeliver *float64       `json:"p50_seconds_to_deliver"`
	P90SecondsToDeliver *float64       `json:"p90_seconds_to_deliver"`
	P50SecondsToApprove *float64       `json:"p50_seconds_to_approve"`
	P90SecondsToApprove *float64       `json:"p90_seconds_to_approve"`
	Price               *float64       `json:"price"`
	Spend               float64        `json:"spend"`
	CostPerApproval     *float64       `json:"cost_per_approval"`
}

// AttemptAnalytics is the body of GET /v1/analytics/attempts.
type AttemptAnalytics struct {
	From     time.Time      `json:"from"`
	To       time.Time      `json:"to"`
	Kind     string         `json:"kind"`
	Currency string         `json:"currency"`
	Rows     []AttemptStats `json:"rows"`
	Totals   struct {
		Sent            int      `json:"sent"`
		Approvals       int      `json:"approvals"`
		Spend           float64  `json:"spend"`
		CostPerApproval *float64 `json:"cost_per_approval"`
	} `json:"totals"`
}

// AttemptAnalytics returns a period's attempt figures by channel × country
// × provider, with spend from the deployment's price table.
func (c *Client) AttemptAnalytics(ctx context.Context, q AnalyticsQuery) (AttemptAnalytics, error) {
	var out AttemptAnalytics
	_, err := c.do(ctx, http.MethodGet, "/v1/analytics/attempts"+q.encode(), nil, nil, &out)
	return out, err
}

// RiskReport is the fraud engine's report of a period (GET /v1/risk/report):
// the challenged and blocked verifications (in shadow mode: what enforcement
// would have done), with each reason's key, value and threshold.
type RiskReport struct {
	From          time.Time       `json:"from"`
	To            time.Time       `json:"to"`
	Mode          string          `json:"mode"`
	Counts        []RiskCount     `json:"counts"`
	Verifications []RiskReportRow `json:"verifications"`
}

// RiskCount counts a period's verifications with one decision and mode, and
// how many were approved anyway.
type RiskCount struct {
	Decision      string `json:"decision"`
	Mode          string `json:"mode"`
	Verifications int    `json:"verifications"`
	Approved      int    `json:"approved"`
}

// RiskReportRow is one challenged or blocked verification.
type RiskReportRow struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Status    string    `json:"status"`
	Country   *string   `json:"country"`
	CreatedAt time.Time `json:"created_at"`
	Decision  string    `json:"decision"`
	Mode      string    `json:"mode"`
	Reasons   []struct {
		Signal    string  `json:"signal"`
		Scope     string  `json:"scope,omitempty"`
		Key       string  `json:"key,omitempty"`
		Value     float64 `json:"value"`
		Threshold float64 `json:"threshold"`
	} `json:"reasons"`
}

// RiskReport returns the fraud engine's report of [from, to) (zero: the
// last 24 hours), at most limit verifications (0: the server's 100).
func (c *Client) RiskReport(ctx context.Context, from, to time.Time, limit int) (RiskReport, error) {
	v := url.Values{}
	if !from.IsZero() {
		v.Set("from", from.UTC().Format(time.RFC3339))
	}
	if !to.IsZero() {
		v.Set("to", to.UTC().Format(time.RFC3339))
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/risk/report"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out RiskReport
	_, err := c.do(ctx, http.MethodGet, path, nil, nil, &out)
	return out, err
}
