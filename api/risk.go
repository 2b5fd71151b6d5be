package api

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/fraud"
)

// riskReportView is GET /v1/risk/report.
type riskReportView struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Mode is the tenant's current fraud-engine mode.
	Mode          fraud.Mode          `json:"mode"`
	Counts        []riskCountView     `json:"counts"`
	Verifications []riskReportRowView `json:"verifications"`
}

type riskCountView struct {
	Decision      fraud.Decision `json:"decision"`
	Mode          fraud.Mode     `json:"mode"`
	Verifications int            `json:"verifications"`
	Approved      int            `json:"approved"`
}

type riskReportRowView struct {
	ID        string          `json:"id"`
	Kind      contract.Kind   `json:"kind"`
	Status    contract.Status `json:"status"`
	Country   *string         `json:"country"`
	CreatedAt time.Time       `json:"created_at"`
	Decision  fraud.Decision  `json:"decision"`
	Mode      fraud.Mode      `json:"mode"`
	// Reasons carry their key, value and threshold: the report is the
	// tenant's, not an end user's.
	Reasons []fraud.Reason `json:"reasons"`
}

// riskReport answers GET /v1/risk/report?from=&to=&limit=.
func (s *Server) riskReport(c *gin.Context) {
	from, to, _, ok := analyticsPeriod(c)
	if !ok {
		return
	}
	limit := 100
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeProblem(c, invalid(FieldError{Field: "limit", Message: "must be an integer from 1 to 1000"}))
			return
		}
		limit = n
	}
	rep, err := s.verify.RiskReport(c.Request.Context(), tenantOf(c).ID, from, to, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := riskReportView{From: from.UTC(), To: to.UTC(), Mode: rep.Mode,
		Counts: make([]riskCountView, 0, len(rep.Counts)), Verifications: make([]riskReportRowView, 0, len(rep.Verifications))}
	for _, ct := range rep.Counts {
		out.Counts = append(out.Counts, riskCountView{Decision: ct.Decision, Mode: ct.Mode, Verifications: ct.Verifications, Approved: ct.Approved})
	}
	for _, r := range rep.Verifications {
		row := riskReportRowView{ID: r.ID, Kind: r.Kind, Status: r.Status, CreatedAt: r.CreatedAt.UTC(),
			Decision: r.Risk.Decision, Mode: r.Risk.Mode, Reasons: r.Risk.Reasons}
		if r.Country != "" {
			c := r.Country
			row.Country = &c
		}
		if row.Reasons == nil {
			row.Reasons = []fraud.Reason{}
		}
		out.Verifications = append(out.Verifications, row)
	}
	c.JSON(200, out)
}
