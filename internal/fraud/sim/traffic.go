package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/veriflow/veriflow/internal/fraud"
)

// country is a destination country of the simulated day.
type country struct {
	iso string
	cc  string
	// prefixes are mobile national prefixes; numbers are a prefix plus
	// random digits up to nsnLen.
	prefixes []string
	nsnLen   int
	// share of legitimate traffic, its conversion, the share of people on
	// WhatsApp, and the price of one SMS (USD, a flat rate per country).
	share, conversion, whatsApp, smsPrice float64
}

// countries: seven the tenant serves, and UZ, which it does not.
var countries = []country{
	{"US", "1", []string{"201", "202", "212", "213", "305", "312", "404", "415", "512", "617", "646", "702", "713", "818", "917"}, 10, 0.34, 0.86, 0.30, 0.0079},
	{"GB", "44", []string{"74", "75", "77", "78", "79"}, 10, 0.14, 0.84, 0.60, 0.040},
	{"DE", "49", []string{"151", "152", "157", "160", "170", "171", "176"}, 11, 0.12, 0.82, 0.70, 0.085},
	{"BR", "55", []string{"119", "219", "319", "419", "519", "619", "719"}, 11, 0.12, 0.76, 0.90, 0.030},
	{"IN", "91", []string{"98", "99", "97", "96", "94", "93", "90", "88", "87", "70", "63"}, 10, 0.15, 0.72, 0.85, 0.080},
	{"ID", "62", []string{"811", "812", "813", "821", "822", "852", "853", "857", "878"}, 11, 0.09, 0.70, 0.85, 0.350},
	{"NG", "234", []string{"803", "806", "813", "816", "703", "706", "810", "814", "903", "805", "807", "815"}, 10, 0.04, 0.70, 0.80, 0.200},
	{"UZ", "998", []string{"90", "91", "93", "94", "97", "99", "88", "33"}, 9, 0, 0, 0, 0.250},
}

func countryByISO(iso string) country {
	for _, c := range countries {
		if c.iso == iso {
			return c
		}
	}
	panic("sim: unknown country " + iso)
}

// number draws a valid mobile number of c whose national number starts
// with prefix ("" for any of c's prefixes).
func (c country) number(r *rand.Rand, prefix string) string {
	for range 200 {
		p := prefix
		if p == "" {
			p = c.prefixes[r.IntN(len(c.prefixes))]
		}
		nsn := []byte(p)
		for len(nsn) < c.nsnLen {
			nsn = append(nsn, byte('0'+r.IntN(10)))
		}
		if c.iso == "US" && len(p) == 3 {
			nsn[3] = byte('2' + r.IntN(8)) // NXX starts 2–9
		}
		e164 := "+" + c.cc + string(nsn)
		if num, err := phonenumbers.Parse(e164, ""); err == nil && phonenumbers.IsValidNumber(num) {
			return e164
		}
	}
	panic(fmt.Sprintf("sim: no valid %s number with prefix %q", c.iso, prefix))
}

// block draws a national prefix of n digits within c (a range an attacker
// holds), starting with one of c's prefixes or with within.
func (c country) block(r *rand.Rand, within string, n int) string {
	p := within
	if p == "" {
		p = c.prefixes[r.IntN(len(c.prefixes))]
	}
	for len(p) < n {
		p += strconv.Itoa(r.IntN(10))
	}
	return p
}

// randomIPv4 is a random public-looking IPv4 address.
func randomIPv4(r *rand.Rand) string {
	return netip.AddrFrom4([4]byte{byte(11 + r.IntN(180)), byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))}).String()
}

// randomIPv6 is a random address in a random /64 of 2001:db8::/32.
func randomIPv6(r *rand.Rand) string {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	for i := 4; i < 16; i++ {
		b[i] = byte(r.IntN(256))
	}
	return netip.AddrFrom16(b).String()
}

// diurnal is the relative traffic of an hour of the day (UTC), peaking in
// the afternoon.
func diurnal(h int) float64 {
	return 1 + 0.7*math.Sin(2*math.Pi*float64(h-9)/24)
}

// start is one simulated start.
type start struct {
	at      time.Time
	phone   string
	ip      string
	country string
	// attack is the attack's index, -1 for legitimate traffic.
	attack int
	// converts: the person (or the attacker) would enter the code if it
	// reached them; whatsApp: the number is on WhatsApp.
	converts, whatsApp bool
	// spike marks the marketing spike's extra traffic.
	spike bool
	// keys are the start's signal keys.
	keys fraud.Keys
}

// attack is one scripted attack.
type attack struct {
	Name     string
	country  string
	from     time.Duration // after the day's start
	duration time.Duration
	starts   int
	// blocks are the national prefixes of the ranges attacked (numbers
	// are drawn uniformly from them).
	blocks []string
	// ips draws the attack's client IP.
	ips func(r *rand.Rand, i int) string
	// conversion is the share of codes the attacker enters to look real.
	conversion float64
}

// attacks are the day's attacks; blocks are drawn from seed r.
func attacks(r *rand.Rand) []attack {
	gb, uz, ng, in := countryByISO("GB"), countryByISO("UZ"), countryByISO("NG"), countryByISO("IN")
	pool := func(n int) func(r *rand.Rand, i int) string {
		ips := make([]string, n)
		for i := range ips {
			ips[i] = randomIPv4(r)
		}
		return func(r *rand.Rand, _ int) string { return ips[r.IntN(n)] }
	}
	var uzBlocks []string
	for range 60 {
		uzBlocks = append(uzBlocks, uz.block(r, "", 5))
	}
	ngBase := ng.block(r, "803", 3)
	var ngBlocks, inBlocks []string
	for range 4 {
		ngBlocks = append(ngBlocks, ng.block(r, ngBase, 5))
	}
	for _, p := range []string{"981", "992", "973"} {
		for range 4 {
			inBlocks = append(inBlocks, in.block(r, p, 5))
		}
	}
	return []attack{
		{Name: "burst on one prefix (GB, 400 in 15 min, 10 IPs)", country: "GB", from: 4 * time.Hour, duration: 15 * time.Minute,
			starts: 400, blocks: []string{gb.block(r, "7400", 5)}, ips: pool(10)},
		{Name: "slow pump over 60 prefixes (UZ, 1/min for 12 h, new IP each)", country: "UZ", from: 6 * time.Hour, duration: 12 * time.Hour,
			starts: 720, blocks: uzBlocks, ips: func(r *rand.Rand, _ int) string { return randomIPv4(r) }},
		{Name: "IP rotation (NG, 600 in 1 h, new IPv6 /64 each)", country: "NG", from: 10 * time.Hour, duration: time.Hour,
			starts: 600, blocks: ngBlocks, ips: func(r *rand.Rand, _ int) string { return randomIPv6(r) }},
		{Name: "converting 10% (IN, 800 in 4 h, 40 IPs)", country: "IN", from: 17 * time.Hour, duration: 4 * time.Hour,
			starts: 800, blocks: inBlocks, ips: pool(40), conversion: 0.10},
	}
}

// legitDay draws a day of legitimate starts from day0 (perDay on an
// ordinary day), with the marketing spike (US × spikeFactor during
// spikeFrom..spikeTo) when spike is set.
func legitDay(r *rand.Rand, day0 time.Time, perDay int, shared map[string][]string, spike bool) []start {
	var sum float64
	for h := range 24 {
		sum += diurnal(h)
	}
	var out []start
	for h := range 24 {
		for _, c := range countries {
			if c.share == 0 {
				continue
			}
			mean := float64(perDay) * c.share * diurnal(h) / sum
			n := poisson(r, mean)
			extra := 0
			if spike && c.iso == "US" && h >= spikeFromHour && h < spikeToHour {
				extra = poisson(r, mean*(spikeFactor-1))
			}
			for i := range n + extra {
				s := start{at: day0.Add(time.Duration(h)*time.Hour + time.Duration(r.Int64N(int64(time.Hour)))),
					phone: c.number(r, ""), country: c.iso, attack: -1,
					converts: r.Float64() < c.conversion, whatsApp: r.Float64() < c.whatsApp, spike: i >= n}
				if r.Float64() < 0.15 {
					s.ip = shared[c.iso][r.IntN(len(shared[c.iso]))] // carrier NAT, office
				} else if r.Float64() < 0.3 {
					s.ip = randomIPv6(r)
				} else {
					s.ip = randomIPv4(r)
				}
				s.keys = fraud.KeysFor(s.phone, s.ip)
				out = append(out, s)
			}
		}
	}
	return out
}

// The marketing spike: US traffic × spikeFactor from 14:00 to 16:00.
const (
	spikeFromHour = 14
	spikeToHour   = 16
	spikeFactor   = 5
)

// poisson draws a Poisson count (normal approximation above 30).
func poisson(r *rand.Rand, mean float64) int {
	if mean > 30 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
