// Package sim is the fraud engine's replayable attack simulator (`make
// fraud-sim`): a day of legitimate verifications across several countries
// (realistic conversion, a marketing spike) mixed with four SMS-pumping
// attacks, replayed on an injected clock in a few minutes of wall time,
// once with Veriflow's fixed limits alone and once with the fixed limits
// and the engine (its real code, counting in Postgres).
//
// It reports, per attack, the SMS sent to the attacker and their cost,
// and the time to containment; and how many legitimate verifications were
// challenged or blocked, during the spike too. Every number comes from a
// seed, so a run can be replayed exactly.
package sim

import (
	"cmp"
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/veriflow/veriflow/internal/fraud"
	"github.com/veriflow/veriflow/internal/guard/limits"
	"github.com/veriflow/veriflow/internal/store"
)

// Config is a simulation.
type Config struct {
	// Seed makes the run replayable.
	Seed uint64
	// LegitPerDay is an ordinary day's legitimate verifications (default
	// 6 000); the simulated day adds the spike.
	LegitPerDay int
	// HistoryDays of legitimate traffic are seeded before the day (default
	// 14): the engine's baselines.
	HistoryDays int
	// Day is the simulated day's start (default: the next UTC midnight).
	Day time.Time
	// Tenant is the engine run's tenant id (default "sim").
	Tenant string
	// Settings are the engine's settings (zero: the defaults).
	Settings fraud.Settings
	// Progress, when set, is called with a line now and then.
	Progress func(string)
}

// Store is what the simulator needs of Postgres; *store.Store is one.
type Store interface {
	fraud.Counter
	AddFraudCounts(ctx context.Context, tenant string, keys []string, approvals, sends int, at time.Time) error
	SeedFraudCounters(ctx context.Context, tenant string, counts []store.FraudCount) error
}

// Outcome is one defence's result against one attack.
type Outcome struct {
	Starts int
	// SMS are the SMS sent to the attacker's numbers; Cost their price.
	SMS  int
	Cost float64
	// Contained is when the attack's last SMS was sent, from its first
	// start; Never when SMS still went out in its last tenth.
	Contained time.Duration
	Never     bool
	// Challenged and Blocked count the attack's starts so decided (and
	// refused by the fixed limits, for the fixed-limits run).
	Challenged, Blocked, Refused int
}

// Legit is one defence's effect on legitimate traffic.
type Legit struct {
	Starts, Spike int
	// Challenged, Blocked and Refused (by the fixed limits) count
	// legitimate starts; the Spike* fields those during the spike.
	Challenged, Blocked, Refused                int
	SpikeChallenged, SpikeBlocked, SpikeRefused int
	// Lost are challenged people not on WhatsApp: they got no code.
	Lost int
}

// Report is a simulation's result.
type Report struct {
	Config  Config
	Attacks []string
	// Fixed and Engine are per attack, in Attacks' order.
	Fixed, Engine           []Outcome
	FixedLegit, EngineLegit Legit
	// Reasons counts the engine's reasons by traffic ("attack", "legit"),
	// signal and scope.
	Reasons map[string]int
	Elapsed time.Duration
}

// Run runs the simulation: the fixed limits alone (in memory), then the
// fixed limits and the engine on st.
func Run(ctx context.Context, st Store, cfg Config) (Report, error) {
	began := time.Now()
	if cfg.LegitPerDay == 0 {
		cfg.LegitPerDay = 6000
	}
	if cfg.HistoryDays == 0 {
		cfg.HistoryDays = 14
	}
	if cfg.Day.IsZero() {
		cfg.Day = time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	if cfg.Tenant == "" {
		cfg.Tenant = "sim"
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string) {}
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	shared := map[string][]string{}
	for _, c := range countries {
		for range 25 {
			shared[c.iso] = append(shared[c.iso], randomIPv4(r))
		}
	}
	atk := attacks(r)
	day := legitDay(r, cfg.Day, cfg.LegitPerDay, shared, true)
	for i, a := range atk {
		c := countryByISO(a.country)
		for j := range a.starts {
			at := cfg.Day.Add(a.from + time.Duration(float64(a.duration)*(float64(j)+r.Float64())/float64(a.starts)))
			s := start{at: at, phone: c.number(r, a.blocks[r.IntN(len(a.blocks))]), ip: a.ips(r, j),
				country: c.iso, attack: i, converts: r.Float64() < a.conversion}
			s.keys = fraud.KeysFor(s.phone, s.ip)
			day = append(day, s)
		}
	}
	slices.SortStableFunc(day, func(a, b start) int { return a.at.Compare(b.at) })

	rep := Report{Config: cfg, Reasons: map[string]int{}}
	for _, a := range atk {
		rep.Attacks = append(rep.Attacks, a.Name)
	}
	progress(fmt.Sprintf("day: %d starts (%d attacks); fixed limits alone…", len(day), len(atk)))
	rep.Fixed, rep.FixedLegit = replay(day, atk, cfg.Day, nil)

	progress(fmt.Sprintf("seeding %d days of history…", cfg.HistoryDays))
	if err := seedHistory(ctx, st, cfg, r, shared); err != nil {
		return rep, err
	}
	progress("fixed limits and the engine…")
	eng := &engineRun{ctx: ctx, st: st, engine: fraud.New(st, func(string) fraud.Settings { return cfg.Settings }),
		tenant: cfg.Tenant, reasons: rep.Reasons}
	rep.Engine, rep.EngineLegit = replay(day, atk, cfg.Day, eng)
	if eng.err != nil {
		return rep, eng.err
	}
	rep.Elapsed = time.Since(began)
	return rep, nil
}

// seedHistory adds HistoryDays of legitimate traffic (no spike, no attack)
// before the day, as hourly counts.
func seedHistory(ctx context.Context, st Store, cfg Config, r *rand.Rand, shared map[string][]string) error {
	agg := map[[2]string]*store.FraudCount{}
	add := func(key string, at time.Time, starts, approvals int) {
		h := at.Truncate(time.Hour)
		k := [2]string{key, h.Format(time.RFC3339)}
		c := agg[k]
		if c == nil {
			c = &store.FraudCount{Key: key, Hour: h}
			agg[k] = c
		}
		c.Starts += starts
		c.Approvals += approvals
	}
	for d := cfg.HistoryDays; d >= 1; d-- {
		for _, s := range legitDay(r, cfg.Day.Add(-time.Duration(d)*24*time.Hour), cfg.LegitPerDay, shared, false) {
			approved := 0
			if s.converts {
				approved = 1
			}
			for _, k := range s.keys.Strings() {
				add(k, s.at, 1, approved)
			}
		}
	}
	counts := make([]store.FraudCount, 0, len(agg))
	for _, c := range agg {
		counts = append(counts, *c)
	}
	slices.SortFunc(counts, func(a, b store.FraudCount) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), a.Hour.Compare(b.Hour))
	})
	return st.SeedFraudCounters(ctx, cfg.Tenant, counts)
}

// engineRun assesses starts with the engine and counts what follows.
type engineRun struct {
	ctx     context.Context
	st      Store
	engine  *fraud.Engine
	tenant  string
	reasons map[string]int
	err     error
}

func (e *engineRun) assess(s start) fraud.Decision {
	if e.err != nil {
		return fraud.Block
	}
	sum := sha256.Sum256([]byte(s.phone))
	risk, err := e.engine.Assess(e.ctx, fraud.Start{Tenant: e.tenant, Keys: s.keys,
		DestinationHash: hex.EncodeToString(sum[:8]), At: s.at})
	if err != nil {
		e.err = err
		return fraud.Block
	}
	prefix := "attack "
	if s.attack < 0 {
		prefix = "legit "
	}
	for _, x := range risk.Reasons {
		e.reasons[prefix+string(x.Signal)+"/"+string(x.Scope)]++
	}
	return risk.Decision
}

func (e *engineRun) count(s start, approvals, sends int, at time.Time) {
	if e.err != nil {
		return
	}
	keys := s.keys.Strings()
	if sends > 0 {
		keys = []string{fraud.Key{Scope: fraud.ScopeCountry, Value: s.country}.String()}
	}
	if err := e.st.AddFraudCounts(e.ctx, e.tenant, keys, approvals, sends, at); err != nil {
		e.err = err
	}
}

// approval is a code entered later.
type approval struct {
	at time.Time
	s  start
}

type approvals []approval

func (a approvals) Len() int           { return len(a) }
func (a approvals) Less(i, j int) bool { return a[i].at.Before(a[j].at) }
func (a approvals) Swap(i, j int)      { a[i], a[j] = a[j], a[i] }
func (a *approvals) Push(x any)        { *a = append(*a, x.(approval)) }
func (a *approvals) Pop() any {
	old := *a
	x := old[len(old)-1]
	*a = old[:len(old)-1]
	return x
}

// replay plays the day through the fixed limits and, with eng, the engine.
func replay(day []start, atk []attack, day0 time.Time, eng *engineRun) ([]Outcome, Legit) {
	out := make([]Outcome, len(atk))
	lastSMS := make([]time.Time, len(atk))
	var legit Legit
	fixed := newFixedLimits(limits.Default())
	pending := &approvals{}
	r := rand.New(rand.NewPCG(1, 2)) // approval delays
	for _, s := range day {
		for pending.Len() > 0 && !(*pending)[0].at.After(s.at) {
			a := heap.Pop(pending).(approval)
			if eng != nil {
				eng.count(a.s, 1, 0, a.at)
			}
		}
		decision := fraud.Allow
		refused := !fixed.allow(s)
		if !refused && eng != nil {
			decision = eng.assess(s)
		}
		// What is sent: nothing when refused or blocked; on a challenge
		// only WhatsApp (the attackers' numbers are not on it); else
		// WhatsApp for people on it, SMS for the others and attackers.
		sms := !refused && decision == fraud.Allow && (s.attack >= 0 || !s.whatsApp)
		reached := !refused && decision != fraud.Block && (sms || (s.attack < 0 && s.whatsApp))
		if sms && eng != nil {
			eng.count(s, 0, 1, s.at)
		}
		if reached && s.converts {
			heap.Push(pending, approval{at: s.at.Add(15*time.Second + time.Duration(r.ExpFloat64()*float64(40*time.Second))), s: s})
		}
		if s.attack >= 0 {
			o := &out[s.attack]
			o.Starts++
			switch {
			case refused:
				o.Refused++
			case decision == fraud.Challenge:
				o.Challenged++
			case decision == fraud.Block:
				o.Blocked++
			}
			if sms {
				o.SMS++
				o.Cost += countryByISO(s.country).smsPrice
				lastSMS[s.attack] = s.at
			}
			continue
		}
		legit.Starts++
		if s.spike {
			legit.Spike++
		}
		inSpike := s.country == "US" && s.at.Sub(day0) >= spikeFromHour*time.Hour && s.at.Sub(day0) < spikeToHour*time.Hour
		switch {
		case refused:
			legit.Refused++
			if inSpike {
				legit.SpikeRefused++
			}
		case decision == fraud.Challenge:
			legit.Challenged++
			if !s.whatsApp {
				legit.Lost++
			}
			if inSpike {
				legit.SpikeChallenged++
			}
		case decision == fraud.Block:
			legit.Blocked++
			if inSpike {
				legit.SpikeBlocked++
			}
		}
	}
	for i, a := range atk {
		first := day0.Add(a.from)
		if lastSMS[i].IsZero() {
			continue
		}
		out[i].Contained = lastSMS[i].Sub(first)
		out[i].Never = lastSMS[i].After(first.Add(a.duration * 9 / 10))
	}
	return out, legit
}

// fixedLimits models Veriflow's fixed start limits (package guard) with
// exact sliding windows on the simulated clock: per destination (10 min,
// day), per client IP (10 min), per tenant (minute) and the prefix velocity
// (country code + 3 digits, 5 min).
type fixedLimits struct {
	l       limits.Limits
	windows map[string][]time.Time
}

func newFixedLimits(l limits.Limits) *fixedLimits {
	return &fixedLimits{l: l, windows: map[string][]time.Time{}}
}

func (f *fixedLimits) allow(s start) bool {
	prefix, _ := s.keys.Get(fraud.ScopePrefix)
	checks := []struct {
		key    string
		window time.Duration
		max    int
	}{
		{"d10:" + s.phone, 10 * time.Minute, f.l.PerDestination10Min},
		{"dday:" + s.phone, 24 * time.Hour, f.l.PerDestinationDay},
		{"ip:" + fraud.IPKey(s.ip), 10 * time.Minute, f.l.PerClientIP10Min},
		{"tenant", time.Minute, f.l.PerTenantMinute},
		{"prefix:" + prefix, 5 * time.Minute, f.l.PrefixBurst},
	}
	for _, c := range checks {
		w := f.windows[c.key]
		i := 0
		for i < len(w) && !w[i].After(s.at.Add(-c.window)) {
			i++
		}
		f.windows[c.key] = w[i:]
		if len(w)-i >= c.max {
			return false
		}
	}
	for _, c := range checks {
		f.windows[c.key] = append(f.windows[c.key], s.at)
	}
	return true
}
