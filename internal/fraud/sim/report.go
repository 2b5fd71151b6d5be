package sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Table renders the report as Markdown.
func (r Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d · %d legitimate verifications on the day (%d in the spike) · %d days of history · %s\n\n",
		r.Config.Seed, r.EngineLegit.Starts, r.EngineLegit.Spike, r.Config.HistoryDays, r.Elapsed.Round(time.Second))
	b.WriteString("| attack | starts | fixed limits: SMS | cost | contained after | engine: SMS | cost | contained after | challenged / blocked |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var fixedSMS, engineSMS int
	var fixedCost, engineCost float64
	for i, name := range r.Attacks {
		f, e := r.Fixed[i], r.Engine[i]
		fixedSMS += f.SMS
		engineSMS += e.SMS
		fixedCost += f.Cost
		engineCost += e.Cost
		fmt.Fprintf(&b, "| %s | %d | %d | $%.2f | %s | %d | $%.2f | %s | %d / %d |\n", name, f.Starts,
			f.SMS, f.Cost, containment(f), e.SMS, e.Cost, containment(e), e.Challenged, e.Blocked)
	}
	fmt.Fprintf(&b, "| **all attacks** | | **%d** | **$%.2f** | | **%d** | **$%.2f** | | |\n\n", fixedSMS, fixedCost, engineSMS, engineCost)
	b.WriteString("| legitimate verifications | fixed limits | engine |\n|---|---:|---:|\n")
	fl, el := r.FixedLegit, r.EngineLegit
	fmt.Fprintf(&b, "| challenged | %d | %d (%s; %d of them not on WhatsApp) |\n", fl.Challenged, el.Challenged, pct(el.Challenged, el.Starts), el.Lost)
	fmt.Fprintf(&b, "| blocked or refused | %d (%s) | %d (%s) |\n", fl.Blocked+fl.Refused, pct(fl.Blocked+fl.Refused, fl.Starts),
		el.Blocked+el.Refused, pct(el.Blocked+el.Refused, el.Starts))
	fmt.Fprintf(&b, "| challenged, blocked or refused during the spike | %d | %d |\n",
		fl.SpikeChallenged+fl.SpikeBlocked+fl.SpikeRefused, el.SpikeChallenged+el.SpikeBlocked+el.SpikeRefused)
	if len(r.Reasons) > 0 {
		b.WriteString("\nengine reasons: ")
		keys := slices.Sorted(maps.Keys(r.Reasons))
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", k, r.Reasons[k])
		}
		b.WriteString("\n")
	}
	return b.String()
}

func containment(o Outcome) string {
	switch {
	case o.SMS == 0:
		return "at once"
	case o.Never:
		return "never"
	}
	return o.Contained.Round(time.Second).String()
}

func pct(n, of int) string {
	if of == 0 {
		return "0 %"
	}
	return fmt.Sprintf("%.2f %%", 100*float64(n)/float64(of))
}

// LegitAffected is the share of legitimate verifications the engine run
// challenged, blocked or refused.
func (r Report) LegitAffected() float64 {
	l := r.EngineLegit
	if l.Starts == 0 {
		return 0
	}
	return float64(l.Challenged+l.Blocked+l.Refused) / float64(l.Starts)
}
