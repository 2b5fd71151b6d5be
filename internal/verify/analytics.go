package verify

import (
	"context"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/store"
)

// AttemptFigures are one channel × country × provider's attempt figures
// with their cost from the deployment's price table.
type AttemptFigures struct {
	store.AttemptStats
	// Conversion is Approvals / Reached (0 when nothing was reached).
	Conversion float64
	// Price is the price of one sent attempt; Priced is false when no entry
	// of the table matched (Price and Spend are then 0).
	Price  float64
	Priced bool
	// Spend is Sent × Price; CostPerApproval is Spend / Approvals (nil
	// without approvals).
	Spend           float64
	CostPerApproval *float64
}

// AttemptReport is the attempt analytics of a period.
type AttemptReport struct {
	Currency string
	Rows     []AttemptFigures
	// Totals over all rows; Totals.CostPerApproval is the whole spend over
	// all approvals (a verification's failed attempts included).
	Sent, Approvals int
	Spend           float64
	CostPerApproval *float64
}

// AttemptAnalytics returns a tenant's attempt figures by channel × country
// × provider for verifications created in [from, to), optionally of one
// kind, priced with the deployment's price table.
func (s *Service) AttemptAnalytics(ctx context.Context, tenantID string, from, to time.Time, kind contract.Kind) (AttemptReport, error) {
	stats, err := s.d.Store.AttemptAnalytics(ctx, tenantID, from, to, string(kind))
	if err != nil {
		return AttemptReport{}, unavailable("attempt analytics", err)
	}
	return priceAttempts(stats, s.d.Prices), nil
}

// priceAttempts adds conversion and cost to the store's figures.
func priceAttempts(stats []store.AttemptStats, prices config.Prices) AttemptReport {
	r := AttemptReport{Currency: prices.Currency, Rows: make([]AttemptFigures, 0, len(stats))}
	if r.Currency == "" {
		r.Currency = config.DefaultCurrency
	}
	perApproval := func(spend float64, approvals int) *float64 {
		if approvals == 0 {
			return nil
		}
		v := spend / float64(approvals)
		return &v
	}
	for _, st := range stats {
		f := AttemptFigures{AttemptStats: st}
		if st.Reached > 0 {
			f.Conversion = float64(st.Approvals) / float64(st.Reached)
		}
		f.Price, f.Priced = prices.Lookup(st.Provider, st.Channel, st.Country)
		f.Spend = float64(st.Sent) * f.Price
		f.CostPerApproval = perApproval(f.Spend, st.Approvals)
		r.Rows = append(r.Rows, f)
		r.Sent, r.Approvals, r.Spend = r.Sent+st.Sent, r.Approvals+st.Approvals, r.Spend+f.Spend
	}
	r.CostPerApproval = perApproval(r.Spend, r.Approvals)
	return r
}

// phoneCountry is the region of an E.164 phone number for the analytics:
// its ISO 3166-1 alpha-2 code, "001" for non-geographic numbers, "" without
// a phone or for a number libphonenumber cannot place.
func phoneCountry(e164 string) string {
	if e164 == "" {
		return ""
	}
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	switch region := phonenumbers.GetRegionCodeForNumber(num); {
	case region == "" && phonenumbers.IsValidNumber(num):
		return guard.NonGeographic
	case len(region) == 2 && region != "ZZ" || region == guard.NonGeographic:
		return region
	}
	return ""
}
