package messages

import "testing"

func TestFormatAmount(t *testing.T) {
	const nb, nn = "\u00a0", "\u202f" // no-break space, narrow no-break space
	tests := []struct {
		amount, currency, locale, want string
	}{
		// The examples of the API.
		{"149.9", "EUR", "it", "149,90" + nb + "€"},
		{"1500", "EUR", "de", "1.500,00" + nb + "€"},
		{"149.9", "USD", "en", "$149.90"},
		{"1234567.5", "EUR", "fr", "1" + nn + "234" + nn + "567,50" + nb + "€"},

		{"0.5", "EUR", "en", "€0.50"},
		{"1500", "EUR", "en", "€1,500.00"},
		{"1234567.5", "EUR", "en", "€1,234,567.50"},
		{"149.9", "EUR", "en", "€149.90"},
		{"0.5", "EUR", "it", "0,50" + nb + "€"},
		{"1500", "EUR", "it", "1.500,00" + nb + "€"},
		{"1234567.5", "EUR", "it", "1.234.567,50" + nb + "€"},
		{"0.5", "EUR", "de", "0,50" + nb + "€"},
		{"1234567.5", "EUR", "de", "1.234.567,50" + nb + "€"},
		{"149.9", "EUR", "de", "149,90" + nb + "€"},
		{"0.5", "EUR", "fr", "0,50" + nb + "€"},
		{"1500", "EUR", "fr", "1" + nn + "500,00" + nb + "€"},
		{"149.9", "EUR", "fr", "149,90" + nb + "€"},
		// Spanish groups from five integer digits (CLDR minimumGroupingDigits 2).
		{"0.5", "EUR", "es", "0,50" + nb + "€"},
		{"1500", "EUR", "es", "1500,00" + nb + "€"},
		{"15000", "EUR", "es", "15.000,00" + nb + "€"},
		{"1234567.5", "EUR", "es", "1.234.567,50" + nb + "€"},
		{"149.9", "EUR", "es", "149,90" + nb + "€"},
		{"0.5", "EUR", "pt", "€" + nb + "0,50"},
		{"1500", "EUR", "pt", "€" + nb + "1.500,00"},
		{"1234567.5", "EUR", "pt", "€" + nb + "1.234.567,50"},
		{"149.9", "EUR", "pt", "€" + nb + "149,90"},

		{"0.5", "USD", "en", "$0.50"},
		{"1500", "USD", "en", "$1,500.00"},
		{"1234567.5", "USD", "en", "$1,234,567.50"},
		{"149.9", "USD", "fr", "149,90" + nb + "$US"},
		{"149.9", "USD", "it", "149,90" + nb + "USD"},
		{"0.5", "GBP", "en", "£0.50"},
		{"1500", "GBP", "en", "£1,500.00"},
		{"1234567.5", "GBP", "en", "£1,234,567.50"},
		{"149.9", "GBP", "en", "£149.90"},

		// JPY has no decimals: nothing is padded, and nothing is cut.
		{"1500", "JPY", "en", "¥1,500"},
		{"1234567.5", "JPY", "en", "¥1,234,567.5"},
		{"0.5", "JPY", "en", "¥0.5"},
		{"149.9", "JPY", "en", "¥149.9"},
		{"1500", "JPY", "it", "1.500" + nb + "JPY"},
		{"1234567.5", "JPY", "it", "1.234.567,5" + nb + "JPY"},
		{"0.5", "JPY", "it", "0,5" + nb + "JPY"},

		{"0.5", "BRL", "pt", "R$" + nb + "0,50"},
		{"1500", "BRL", "pt", "R$" + nb + "1.500,00"},
		{"1234567.5", "BRL", "pt", "R$" + nb + "1.234.567,50"},
		{"149.9", "BRL", "pt", "R$" + nb + "149,90"},

		{"0.5", "CHF", "de", "0,50" + nb + "CHF"},
		{"1500", "CHF", "de", "1.500,00" + nb + "CHF"},
		{"1234567.5", "CHF", "de", "1.234.567,50" + nb + "CHF"},
		{"149.9", "CHF", "de", "149,90" + nb + "CHF"},
		// A letter symbol before the number gets a no-break space.
		{"1500", "CHF", "en", "CHF" + nb + "1,500.00"},

		// More fractional digits than the currency's are kept.
		{"1.999", "EUR", "en", "€1.999"},
		{"12345678901234567890.123456789", "EUR", "it", "12.345.678.901.234.567.890,123456789" + nb + "€"},
		{"1.5", "KWD", "en", "KWD" + nb + "1.500"},
		{"-3.25", "USD", "en", "-$3.25"},
		{"-3.25", "EUR", "it", "-3,25" + nb + "€"},
		{"-0.00", "EUR", "en", "€0.00"},
		{"007", "EUR", "en", "€7.00"},
		{"0", "EUR", "de", "0,00" + nb + "€"},
		{"999", "EUR", "en", "€999.00"},
		{"1000", "EUR", "en", "€1,000.00"},
		{"100000", "EUR", "en", "€100,000.00"},
		// Locale tags, case and unknowns.
		{"149.9", "eur", "it-IT", "149,90" + nb + "€"},
		{"149.9", "EUR", "pt-BR", "€" + nb + "149,90"},
		{"149.9", "EUR", "xx", "€149.90"},
		{"149.9", "EUR", "", "€149.90"},
		{"1.5", "ZZZ", "en", "ZZZ" + nb + "1.50"},
		{"1.5", "ZZZ", "it", "1,50" + nb + "ZZZ"},
		{"1.5", "", "en", "1.50"},
		{"12,5", "EUR", "en", "12,5 EUR"},
		{"1e3", "EUR", "it", "1e3 EUR"},
		{"", "EUR", "en", "EUR"},
		{"1.", "EUR", "en", "1. EUR"},
	}
	for _, tt := range tests {
		if got := FormatAmount(tt.amount, tt.currency, tt.locale); got != tt.want {
			t.Errorf("FormatAmount(%q, %q, %q) = %q, want %q", tt.amount, tt.currency, tt.locale, got, tt.want)
		}
	}
}
