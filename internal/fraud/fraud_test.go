package fraud

import (
	"strings"
	"testing"
)

const gbMobile = "+447400123456"

func obs(counts map[string]Counts) Observation { return Observation{Counts: counts} }

func TestKeysFor(t *testing.T) {
	k := KeysFor(gbMobile, "2001:db8:1:2:3:4:5:6")
	want := []string{"country:GB", "number_type:GB-mobile", "prefix:+44-740", "prefix_long:+44-74001", "ip:2001:db8:1:2::/64"}
	got := k.Strings()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("keys %v, want %v", got, want)
	}
	for _, s := range got {
		if strings.Contains(s, "123456") {
			t.Errorf("key %q holds the whole number", s)
		}
	}
	if k.Country != "GB" {
		t.Errorf("country %q", k.Country)
	}
	if k := KeysFor("", "not an ip"); !k.Empty() {
		t.Errorf("keys for nothing: %v", k.Strings())
	}
	if ip := IPKey("::ffff:192.0.2.7"); ip != "192.0.2.7" {
		t.Errorf("mapped IPv4 key %q", ip)
	}
}

func TestDecide(t *testing.T) {
	s := Defaults().Or(Defaults())
	k := KeysFor(gbMobile, "192.0.2.7")
	cases := []struct {
		name   string
		counts map[string]Counts
		ip     IPSeen
		want   Decision
		signal Signal
		scope  Scope
	}{
		{name: "quiet", counts: map[string]Counts{"prefix_long:+44-74001": {StartsHour: 3, StartsDay: 3}}, want: Allow},
		{name: "a block of numbers over its floor", want: Challenge, signal: UnverifiedHour, scope: ScopePrefixLong,
			counts: map[string]Counts{"prefix_long:+44-74001": {StartsHour: 7, StartsDay: 7}}},
		{name: "four times over blocks", want: Block, signal: UnverifiedHour, scope: ScopePrefixLong,
			counts: map[string]Counts{"prefix_long:+44-74001": {StartsHour: 24, StartsDay: 24}}},
		{name: "a spike that converts", want: Allow,
			counts: map[string]Counts{"country:GB": {StartsHour: 900, ApprovalsHour: 700, StartsDay: 2000, ApprovalsDay: 1600}}},
		{name: "the 14-day peak covers a slow start of approvals", want: Allow,
			counts: map[string]Counts{"country:GB": {StartsHour: 120, ApprovalsHour: 10, PeakApprovalsHour: 150, StartsDay: 200, PeakApprovalsDay: 2000}}},
		{name: "a country with no history", want: Challenge, signal: UnverifiedHour, scope: ScopeCountry,
			counts: map[string]Counts{"country:GB": {StartsHour: 21, StartsDay: 21}}},
		{name: "a proven prefix is not challenged for its country", want: Allow,
			counts: map[string]Counts{"country:GB": {StartsHour: 500, StartsDay: 500}, "prefix:+44-740": {PeakApprovalsDay: 3}}},
		{name: "a proven prefix's alarm needs the block's corroboration", want: Allow,
			counts: map[string]Counts{"prefix:+44-740": {StartsHour: 40, StartsDay: 40, PeakApprovalsDay: 3}, "prefix_long:+44-74001": {StartsDay: 1}}},
		{name: "a proven prefix's alarm with a reused block", want: Challenge, signal: UnverifiedHour, scope: ScopePrefix,
			counts: map[string]Counts{"prefix:+44-740": {StartsHour: 12, StartsDay: 12, PeakApprovalsDay: 3}, "prefix_long:+44-74001": {StartsDay: 2}}},
		{name: "one IP, many countries", want: Block, signal: IPCountries, scope: ScopeIP, ip: IPSeen{Countries: 4, Destinations: 4}},
		{name: "one IP, many destinations", want: Challenge, signal: IPDestinations, scope: ScopeIP, ip: IPSeen{Countries: 1, Destinations: 11}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := obs(c.counts)
			o.IP = c.ip
			r := Decide(s, k, o)
			if r.Decision != c.want || r.Mode != Enforce {
				t.Fatalf("decision %s (%s), want %s; reasons %v", r.Decision, r.Mode, c.want, r.Reasons)
			}
			if c.signal == "" {
				if len(r.Reasons) != 0 {
					t.Fatalf("reasons %v", r.Reasons)
				}
				return
			}
			found := false
			for _, x := range r.Reasons {
				found = found || x.Signal == c.signal && x.Scope == c.scope && x.Value > x.Threshold
			}
			if !found {
				t.Fatalf("no %s/%s reason in %v", c.signal, c.scope, r.Reasons)
			}
		})
	}
}

func TestCountryBudget(t *testing.T) {
	s := Settings{CountryDailySends: map[string]int{"GB": 100, "*": 10}}.Or(Defaults())
	k := KeysFor(gbMobile, "")
	if r := Decide(s, k, obs(map[string]Counts{"country:GB": {SendsToday: 99}})); r.Decision != Allow {
		t.Fatalf("under budget: %v", r)
	}
	r := Decide(s, k, obs(map[string]Counts{"country:GB": {SendsToday: 100}}))
	if r.Decision != Challenge || r.Reasons[0].Signal != CountryBudget {
		t.Fatalf("at budget: %v", r)
	}
	// The budget holds for proven prefixes too.
	r = Decide(s, k, obs(map[string]Counts{"country:GB": {SendsToday: 100}, "prefix:+44-740": {PeakApprovalsDay: 9}}))
	if r.Decision != Challenge {
		t.Fatalf("proven prefix at budget: %v", r)
	}
	if s.budget("FR") != 10 {
		t.Fatalf("wildcard budget %d", s.budget("FR"))
	}
}

func TestShadowModeDecidesTheSame(t *testing.T) {
	k := KeysFor(gbMobile, "")
	o := obs(map[string]Counts{"prefix_long:+44-74001": {StartsHour: 7, StartsDay: 7}})
	enforce := Decide(Defaults(), k, o)
	shadow := Decide(Settings{Mode: Shadow}.Or(Defaults()), k, o)
	if enforce.Decision != shadow.Decision || len(enforce.Reasons) != len(shadow.Reasons) || shadow.Mode != Shadow || enforce.Acted() == shadow.Acted() {
		t.Fatalf("enforce %+v, shadow %+v", enforce, shadow)
	}
}

func TestSettings(t *testing.T) {
	s := Settings{Floors: map[Scope]Floor{ScopeIP: {Hour: 3}}}.Or(Defaults())
	if s.Floors[ScopeIP] != (Floor{Hour: 3, Day: 20}) || s.Floors[ScopeCountry] != DefaultFloors()[ScopeCountry] || s.Mode != Enforce || s.Ratio != 1 {
		t.Fatalf("or: %+v", s)
	}
	for _, bad := range []Settings{{Mode: "off"}, {Floors: map[Scope]Floor{"planet": {}}}, {CountryDailySends: map[string]int{"gb": 1}}, {CountryDailySends: map[string]int{"GB": -1}}} {
		if bad.Validate() == nil {
			t.Errorf("%+v: valid", bad)
		}
	}
	if err := (Settings{Mode: Shadow, CountryDailySends: map[string]int{"GB": 1, "*": 5}}).Validate(); err != nil {
		t.Error(err)
	}
	if !(Settings{}).IsZero() || (Settings{Mode: Shadow}).IsZero() {
		t.Error("IsZero")
	}
}
