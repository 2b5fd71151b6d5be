// Package fraud is Veriflow's adaptive fraud engine against SMS pumping
// (toll fraud): bots that start verifications to ranges of high-cost
// numbers and never enter a code.
//
// The model (docs/security.md has the long form): every start is counted,
// per tenant, under a few signal keys — its country, its number prefix at
// two depths, its client IP (IPv6: the /64) and its country's number type —
// and every approval is counted under the same keys. A key whose
// *unverified* starts (starts − approvals) in the last hour or day exceed
// an allowance is suspicious. The allowance grows with the key's verified
// traffic, now and at its peak in the last 14 days, so a tenant's normal
// peak and a marketing spike (whose people do enter their codes) are not
// attacks, while a pump (whose numbers never do) stands out within a few
// dozen starts. An IP reaching many countries in a day and a country's
// daily budget of SMS and voice sends are two more signals.
//
// Each start gets a Decision — allow, challenge (keep only the channels
// that cannot be pumped for money: WhatsApp, RCS, email) or block — with
// the Reasons that led to it. A tenant in Shadow mode gets the same
// decisions recorded, and nothing acted on.
//
// The package is pure: counting is the Counter's job (Postgres in
// production, see store.FraudCounter), the clock is the caller's (the
// simulator replays a day in minutes), and settings are plain data that the
// configuration reads without a database driver.
package fraud

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Decision is what the engine decides for a start.
type Decision string

// Decisions, from the mildest.
const (
	// Allow lets the start go ahead with its plan.
	Allow Decision = "allow"
	// Challenge keeps only the plan's channels that cannot be pumped for
	// money (WhatsApp, RCS, email); with none left the start is refused.
	Challenge Decision = "challenge"
	// Block refuses the start (403 blocked): nothing is sent.
	Block Decision = "block"
)

// Decisions lists every decision, mildest first.
var Decisions = []Decision{Allow, Challenge, Block}

// Mode says whether a tenant's decisions are acted on.
type Mode string

// Modes.
const (
	// Enforce acts on decisions.
	Enforce Mode = "enforce"
	// Shadow records decisions and acts on none: the start goes ahead as
	// if allowed. A new tenant may start here to see what enforcement
	// would do (the shadow report).
	Shadow Mode = "shadow"
)

// Modes lists every mode.
var Modes = []Mode{Enforce, Shadow}

// Signal names a reason's rule.
type Signal string

// Signals.
const (
	// UnverifiedHour: starts minus approvals of a key in the last hour
	// exceed the key's allowance.
	UnverifiedHour Signal = "unverified_hour"
	// UnverifiedDay: the same over the last 24 hours.
	UnverifiedDay Signal = "unverified_day"
	// IPCountries: one client IP (IPv6: /64) started verifications to more
	// countries today than allowed.
	IPCountries Signal = "ip_countries"
	// IPDestinations: one client IP started verifications to more distinct
	// destinations today than its approvals explain.
	IPDestinations Signal = "ip_destinations"
	// CountryBudget: the country's SMS and voice sends today reached the
	// tenant's daily budget for it.
	CountryBudget Signal = "country_budget"
	// NoCheapChannel: a challenge left no channel that reaches the
	// destination, so the start is blocked.
	NoCheapChannel Signal = "no_cheap_channel"
	// Sandbox: a test key's scripted number played the decision.
	Sandbox Signal = "sandbox"
)

// Signals lists every signal.
var Signals = []Signal{UnverifiedHour, UnverifiedDay, IPCountries, IPDestinations, CountryBudget, NoCheapChannel, Sandbox}

// Scope is the dimension a signal key counts by.
type Scope string

// Scopes.
const (
	ScopeCountry    Scope = "country"
	ScopePrefix     Scope = "prefix"      // country code + PrefixDigits national digits
	ScopePrefixLong Scope = "prefix_long" // country code + PrefixLongDigits national digits
	ScopeIP         Scope = "ip"          // IPv4 address or IPv6 /64
	ScopeNumberType Scope = "number_type" // country + libphonenumber type
)

// Scopes lists every scope, widest first.
var Scopes = []Scope{ScopeCountry, ScopeNumberType, ScopePrefix, ScopePrefixLong, ScopeIP}

// Prefix depths: national significant digits after the country code.
const (
	PrefixDigits     = 3
	PrefixLongDigits = 5
)

// Reason is one signal that fired, with what it measured. Value and
// Threshold are for the tenant's audit trail, logs and shadow report; the
// verification object shows only Signal and Scope.
type Reason struct {
	Signal    Signal  `json:"signal"`
	Scope     Scope   `json:"scope,omitempty"`
	Key       string  `json:"key,omitempty"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
}

// String is the reason for a log line or an audit event.
func (r Reason) String() string {
	s := string(r.Signal)
	if r.Scope != "" {
		s += " " + string(r.Scope) + " " + r.Key
	}
	return fmt.Sprintf("%s %.0f>%.0f", s, r.Value, r.Threshold)
}

// Risk is the engine's verdict on a start.
type Risk struct {
	Decision Decision `json:"decision"`
	Mode     Mode     `json:"mode"`
	Reasons  []Reason `json:"reasons"`
}

// Acted reports whether the decision changes what happens: a challenge or
// a block in enforce mode.
func (r Risk) Acted() bool { return r.Mode == Enforce && r.Decision != Allow }

// Summary is a one-line account of the risk, without keys or values, for
// the Temporal UI.
func (r Risk) Summary() string {
	if len(r.Reasons) == 0 {
		return fmt.Sprintf("risk: %s (%s)", r.Decision, r.Mode)
	}
	parts := make([]string, 0, len(r.Reasons))
	for _, x := range r.Reasons {
		p := string(x.Signal)
		if x.Scope != "" {
			p += " by " + string(x.Scope)
		}
		if !slices.Contains(parts, p) {
			parts = append(parts, p)
		}
	}
	return fmt.Sprintf("risk: %s (%s): %s", r.Decision, r.Mode, strings.Join(parts, ", "))
}

// Counts are one signal key's counters at a moment.
type Counts struct {
	// StartsHour and ApprovalsHour are the sliding last hour.
	StartsHour, ApprovalsHour float64
	// StartsDay and ApprovalsDay are the last 24 hours.
	StartsDay, ApprovalsDay float64
	// PeakApprovalsHour and PeakApprovalsDay are the key's busiest hour
	// and UTC day of approvals in the 14 days before the last 24 hours:
	// the baseline learned from verified traffic.
	PeakApprovalsHour, PeakApprovalsDay float64
	// SendsToday are the SMS and voice sends of the UTC day (country keys).
	SendsToday float64
}

// IPSeen is what one client IP reached today.
type IPSeen struct {
	Countries, Destinations int
}

// Observation is what the counter returns for a start it counted.
type Observation struct {
	Counts map[string]Counts
	IP     IPSeen
}

// Start is a start as the engine sees it.
type Start struct {
	Tenant string
	// Keys are the start's signal keys (KeysFor).
	Keys Keys
	// DestinationHash is the destination's keyed hash (hex), for the
	// distinct-destinations-per-IP signal.
	DestinationHash string
	// At is when the start happened (the simulator's clock, else now).
	At time.Time
}

// Decide turns the counters of a start's keys into a risk, under settings
// s (with defaults filled in). It is a pure function.
func Decide(s Settings, k Keys, o Observation) Risk {
	var reasons []Reason
	proven := false
	if p, ok := k.Get(ScopePrefix); ok {
		proven = o.Counts[Key{ScopePrefix, p}.String()].PeakApprovalsDay > 0
	}
	for _, key := range k.Counted() {
		c := o.Counts[key.String()]
		fl := s.Floors[key.Scope]
		if key.Scope == ScopeCountry {
			if b := s.budget(key.Value); b > 0 && c.SendsToday >= float64(b) {
				reasons = append(reasons, Reason{Signal: CountryBudget, Scope: key.Scope, Key: key.Value, Value: c.SendsToday, Threshold: float64(b)})
			}
		}
		if proven && !corroborated(key.Scope, k, o) {
			continue
		}
		if v, t := unverified(c.StartsHour, c.ApprovalsHour), allowance(fl.Hour, s.Ratio, c.ApprovalsHour, c.PeakApprovalsHour); v > t {
			reasons = append(reasons, Reason{Signal: UnverifiedHour, Scope: key.Scope, Key: key.Value, Value: v, Threshold: t})
		}
		if v, t := unverified(c.StartsDay, c.ApprovalsDay), allowance(fl.Day, s.Ratio, c.ApprovalsDay, c.PeakApprovalsDay); v > t {
			reasons = append(reasons, Reason{Signal: UnverifiedDay, Scope: key.Scope, Key: key.Value, Value: v, Threshold: t})
		}
	}
	if ip, ok := k.Get(ScopeIP); ok {
		if o.IP.Countries > s.IPCountriesDay {
			reasons = append(reasons, Reason{Signal: IPCountries, Scope: ScopeIP, Key: ip,
				Value: float64(o.IP.Countries), Threshold: float64(s.IPCountriesDay)})
		}
		c := o.Counts[Key{ScopeIP, ip}.String()]
		if v, t := float64(o.IP.Destinations)-c.ApprovalsDay, allowance(s.IPDestinationsFloor, s.Ratio, c.ApprovalsDay, c.PeakApprovalsDay); v > t {
			reasons = append(reasons, Reason{Signal: IPDestinations, Scope: ScopeIP, Key: ip, Value: v, Threshold: t})
		}
	}
	d := Allow
	for _, r := range reasons {
		d = maxDecision(d, Challenge)
		if r.Signal == IPCountries || r.Value >= s.BlockFactor*r.Threshold {
			d = Block
		}
	}
	return Risk{Decision: d, Mode: s.Mode, Reasons: reasons}
}

// corroborated reports whether a wide key's alarm applies to a start whose
// prefix has verified history (approvals in the 14 days before the last
// 24 hours): people of proven ranges are not challenged for what happens
// elsewhere in their country or prefix.
//
//   - A country or number-type key never applies to them.
//   - A prefix key applies only when the start's 5-digit block already had
//     an unverified start today besides this one: an attacker holds
//     blocks of numbers and reuses them; a person is alone in theirs.
func corroborated(sc Scope, k Keys, o Observation) bool {
	switch sc {
	case ScopeCountry, ScopeNumberType:
		return false
	case ScopePrefix:
		long, ok := k.Get(ScopePrefixLong)
		c := o.Counts[Key{ScopePrefixLong, long}.String()]
		return ok && unverified(c.StartsDay, c.ApprovalsDay) >= 2
	}
	return true
}

// unverified is starts − approvals, never negative.
func unverified(starts, approvals float64) float64 { return max(starts-approvals, 0) }

// allowance is how many unverified starts a key may have: its floor, or
// ratio × its verified traffic now or at its peak, whichever is larger.
func allowance(floor int, ratio, approvals, peak float64) float64 {
	return max(float64(floor), ratio*max(approvals, peak))
}

func maxDecision(a, b Decision) Decision {
	if slices.Index(Decisions, b) > slices.Index(Decisions, a) {
		return b
	}
	return a
}
