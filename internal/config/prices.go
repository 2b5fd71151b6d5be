package config

import (
	"fmt"
	"math"
	"regexp"
	"sort"
)

// DefaultCurrency is the currency of the price table unless the config
// file's "price_currency" names another.
const DefaultCurrency = "USD"

// Prices is the deployment's price table (config file keys "prices" and
// "price_currency"): the price of one sent attempt by provider → channel →
// country (ISO 3166-1 alpha-2 region of the phone at start, "unknown" for
// none), in Currency. "*" stands for any provider, channel or country, for
// example
//
//	"prices": {"twilio": {"sms": {"US": 0.0079, "GB": 0.04, "*": 0.05}, "voice": {"*": 0.014}},
//	           "meta": {"whatsapp": {"*": 0.03}}, "*": {"email": {"*": 0}}}
//
// The most specific entry wins, provider first, then channel, then
// country. An attempt no entry matches costs 0 and is reported unpriced:
// without a "prices" key every figure of spend is 0.
type Prices struct {
	Currency string
	Table    map[string]map[string]map[string]float64
}

// Lookup returns the price of one sent attempt, and false when no entry
// matches.
func (p Prices) Lookup(provider, channel, country string) (float64, bool) {
	for _, pr := range []string{provider, "*"} {
		byChannel, ok := p.Table[pr]
		if !ok {
			continue
		}
		for _, ch := range []string{channel, "*"} {
			byCountry, ok := byChannel[ch]
			if !ok {
				continue
			}
			for _, co := range []string{country, "*"} {
				if v, ok := byCountry[co]; ok {
					return v, true
				}
			}
		}
	}
	return 0, false
}

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// prices validates the file's price table.
func (f file) prices() (Prices, error) {
	p := Prices{Currency: DefaultCurrency, Table: f.Prices}
	if f.PriceCurrency != "" {
		if !currencyCode.MatchString(f.PriceCurrency) {
			return Prices{}, fmt.Errorf("price_currency: %q is not an ISO 4217 code such as USD", f.PriceCurrency)
		}
		p.Currency = f.PriceCurrency
	}
	var bad []string
	for pr, byChannel := range f.Prices {
		for ch, byCountry := range byChannel {
			for co, v := range byCountry {
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					bad = append(bad, pr+"."+ch+"."+co)
				}
			}
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return Prices{}, fmt.Errorf("prices: %v must be non-negative numbers", bad)
	}
	return p, nil
}
