package verify

import (
	"testing"

	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/store"
)

func TestPhoneCountry(t *testing.T) {
	for in, want := range map[string]string{
		"+14155552671": "US", "+393331234567": "IT", "+442071838750": "GB", "+80012345678": "001", "": "", "not a number": "",
	} {
		if got := phoneCountry(in); got != want {
			t.Errorf("phoneCountry(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPriceAttempts(t *testing.T) {
	prices := config.Prices{Currency: "USD", Table: map[string]map[string]map[string]float64{
		"twilio": {"sms": {"US": 0.01, "*": 0.05}}}}
	r := priceAttempts([]store.AttemptStats{
		{Channel: "sms", Country: "US", Provider: "twilio", Sent: 10, Approvals: 4, Reached: 8},
		{Channel: "sms", Country: "GB", Provider: "twilio", Sent: 2, Approvals: 0, Reached: 2},
		{Channel: "whatsapp", Country: "US", Provider: "meta", Sent: 3, Approvals: 1, Reached: 3},
	}, prices)
	us, gb, wa := r.Rows[0], r.Rows[1], r.Rows[2]
	near := func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
	if !near(us.Spend, 0.1) || !near(*us.CostPerApproval, 0.025) || !near(us.Conversion, 0.5) || !us.Priced {
		t.Errorf("us %+v", us)
	}
	if !near(gb.Spend, 0.1) || gb.CostPerApproval != nil || gb.Conversion != 0 {
		t.Errorf("gb %+v", gb)
	}
	if wa.Priced || wa.Spend != 0 || *wa.CostPerApproval != 0 {
		t.Errorf("unpriced %+v", wa)
	}
	if r.Currency != "USD" || r.Sent != 15 || r.Approvals != 5 || !near(r.Spend, 0.2) || !near(*r.CostPerApproval, 0.04) {
		t.Errorf("totals %+v", r)
	}
	if priceAttempts(nil, config.Prices{}).Currency != "USD" {
		t.Error("default currency")
	}
}
