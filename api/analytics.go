package api

import (
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/veriflow/veriflow/internal/contract"
)

// channelStatsView is one channel of GET /v1/analytics/channels.
type channelStatsView struct {
	Channel   string `json:"channel"`
	Sent      int    `json:"sent"`
	Delivered int    `json:"delivered"`
	Failed    int    `json:"failed"`
	Approvals int    `json:"approvals"`
	// ConversionRate is approvals / verifications with a send on the channel.
	ConversionRate float64 `json:"conversion_rate"`
	// MedianSecondsToApprove is from start to approval (null: no approval).
	MedianSecondsToApprove *float64 `json:"median_seconds_to_approve"`
}

// analyticsPeriod reads the from, to and kind of an analytics query (RFC
// 3339 times; default the last 24 hours; at most 93 days); ok is false when
// it has answered 400.
func analyticsPeriod(c *gin.Context) (from, to time.Time, kind string, ok bool) {
	var errs fieldErrors
	now := time.Now().UTC()
	parse := func(name string, def time.Time) time.Time {
		v := c.Query(name)
		if v == "" {
			return def
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			errs.add(name, "must be an RFC 3339 time such as 2026-11-21T00:00:00Z")
		}
		return t
	}
	from, to = parse("from", now.Add(-24*time.Hour)), parse("to", now)
	kind = c.Query("kind")
	if kind != "" && !contract.Kind(kind).Valid() {
		errs.add("kind", "must be one of signup, transaction, password_reset, two_factor, signature")
	}
	if len(errs) == 0 && (!to.After(from) || to.Sub(from) > 93*24*time.Hour) {
		errs.add("to", "must be after from, at most 93 days later")
	}
	if len(errs) > 0 {
		writeProblem(c, invalid(errs...))
		return from, to, kind, false
	}
	return from, to, kind, true
}

// analyticsChannels answers GET /v1/analytics/channels?from=&to=&kind=.
func (s *Server) analyticsChannels(c *gin.Context) {
	from, to, kind, ok := analyticsPeriod(c)
	if !ok {
		return
	}
	stats, err := s.verify.ChannelAnalytics(c.Request.Context(), tenantOf(c).ID, from, to, contract.Kind(kind))
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]channelStatsView, 0, len(stats))
	for _, st := range stats {
		v := channelStatsView{Channel: st.Channel, Sent: st.Sent, Delivered: st.Delivered, Failed: st.Failed, Approvals: st.Approvals}
		if st.Reached > 0 {
			v.ConversionRate = math.Round(float64(st.Approvals)/float64(st.Reached)*1000) / 1000
		}
		if st.MedianApprove != nil {
			secs := math.Round(st.MedianApprove.Seconds()*1000) / 1000
			v.MedianSecondsToApprove = &secs
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"from": from, "to": to, "kind": kind, "channels": out})
}
