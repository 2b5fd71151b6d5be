package api

import (
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/verify"
)

// attemptStatsView is one channel × country × provider of
// GET /v1/analytics/attempts.
type attemptStatsView struct {
	Channel  string `json:"channel"`
	Country  string `json:"country"`
	Provider string `json:"provider"`
	Sent     int    `json:"sent"`
	// Delivered counts delivered or read attempts; Read the read ones.
	Delivered int `json:"delivered"`
	Read      int `json:"read"`
	Failed    int `json:"failed"`
	// FailedByReason counts failed attempts per failure reason.
	FailedByReason map[string]int `json:"failed_by_reason"`
	// Approvals counts approved verifications whose code came through
	// this attempt; ConversionRate is approvals / verifications reached.
	Approvals      int     `json:"approvals"`
	ConversionRate float64 `json:"conversion_rate"`
	// Seconds from sent to delivered, and from the first send to approval.
	P50SecondsToDeliver *float64 `json:"p50_seconds_to_deliver"`
	P90SecondsToDeliver *float64 `json:"p90_seconds_to_deliver"`
	P50SecondsToApprove *float64 `json:"p50_seconds_to_approve"`
	P90SecondsToApprove *float64 `json:"p90_seconds_to_approve"`
	// Price of one sent attempt (null: not in the price table), Spend of
	// the sent attempts and CostPerApproval, in the response's currency.
	Price           *float64 `json:"price"`
	Spend           float64  `json:"spend"`
	CostPerApproval *float64 `json:"cost_per_approval"`
}

// attemptTotalsView sums the rows.
type attemptTotalsView struct {
	Sent            int      `json:"sent"`
	Approvals       int      `json:"approvals"`
	Spend           float64  `json:"spend"`
	CostPerApproval *float64 `json:"cost_per_approval"`
}

// attemptAnalyticsView is the body of GET /v1/analytics/attempts.
type attemptAnalyticsView struct {
	From     time.Time          `json:"from"`
	To       time.Time          `json:"to"`
	Kind     string             `json:"kind"`
	Currency string             `json:"currency"`
	Rows     []attemptStatsView `json:"rows"`
	Totals   attemptTotalsView  `json:"totals"`
}

// analyticsAttempts answers GET /v1/analytics/attempts?from=&to=&kind=
// (the period rules of the channels endpoint).
func (s *Server) analyticsAttempts(c *gin.Context) {
	from, to, kind, ok := analyticsPeriod(c)
	if !ok {
		return
	}
	r, err := s.verify.AttemptAnalytics(c.Request.Context(), tenantOf(c).ID, from, to, contract.Kind(kind))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, attemptAnalytics(from, to, kind, r))
}

// attemptAnalytics builds the response: money to 6 decimals, seconds to
// milliseconds, rates to 3 decimals.
func attemptAnalytics(from, to time.Time, kind string, r verify.AttemptReport) attemptAnalyticsView {
	round := func(v float64, places int) float64 { p := math.Pow10(places); return math.Round(v*p) / p }
	opt := func(v *float64) *float64 {
		if v == nil {
			return nil
		}
		x := round(*v, 6)
		return &x
	}
	secs := func(d *time.Duration) *float64 {
		if d == nil {
			return nil
		}
		x := round(d.Seconds(), 3)
		return &x
	}
	out := attemptAnalyticsView{From: from, To: to, Kind: kind, Currency: r.Currency, Rows: make([]attemptStatsView, 0, len(r.Rows)),
		Totals: attemptTotalsView{Sent: r.Sent, Approvals: r.Approvals, Spend: round(r.Spend, 6), CostPerApproval: opt(r.CostPerApproval)}}
	for _, f := range r.Rows {
		v := attemptStatsView{Channel: f.Channel, Country: f.Country, Provider: f.Provider, Sent: f.Sent, Delivered: f.Delivered,
			Read: f.Read, Failed: f.Failed, FailedByReason: f.FailedBy, Approvals: f.Approvals, ConversionRate: round(f.Conversion, 3),
			P50SecondsToDeliver: secs(f.DeliverP50), P90SecondsToDeliver: secs(f.DeliverP90),
			P50SecondsToApprove: secs(f.ApproveP50), P90SecondsToApprove: secs(f.ApproveP90),
			Spend: round(f.Spend, 6), CostPerApproval: opt(f.CostPerApproval)}
		if v.FailedByReason == nil {
			v.FailedByReason = map[string]int{}
		}
		if f.Priced {
			v.Price = &f.Price
		}
		out.Rows = append(out.Rows, v)
	}
	return out
}
