package messages

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Spaces used by CLDR number formats.
const (
	nbsp  = "\u00a0" // NO-BREAK SPACE: between a number and its currency
	nnbsp = "\u202f" // NARROW NO-BREAK SPACE: French digit grouping
)

// numberFormat is how a locale writes a currency amount (CLDR's standard
// currency pattern and number symbols).
type numberFormat struct {
	decimal string // decimal separator
	group   string // thousands separator
	// minGrouping is CLDR's minimumGroupingDigits: the integer part is
	// grouped only when it has at least 3+minGrouping digits.
	minGrouping int
	// prefix puts the currency symbol before the number.
	prefix bool
	// space separates the symbol from the number.
	space string
}

// numberFormats holds the number format of every locale, from CLDR 44+
// ("¤#,##0.00" for en, "¤ #,##0.00" for pt, "#,##0.00 ¤" for the others).
// They are kept here rather than taken from golang.org/x/text/number,
// whose data predates CLDR 34 (French then grouped with U+00A0 and Spanish
// had no minimumGroupingDigits) and which only formats through binary
// numbers. pt is Brazilian Portuguese, as CLDR's "pt" is.
var numberFormats = map[string]numberFormat{
	"en": {decimal: ".", group: ",", minGrouping: 1, prefix: true},
	"it": {decimal: ",", group: ".", minGrouping: 1, space: nbsp},
	"es": {decimal: ",", group: ".", minGrouping: 2, space: nbsp},
	"de": {decimal: ",", group: ".", minGrouping: 1, space: nbsp},
	"fr": {decimal: ",", group: nnbsp, minGrouping: 1, space: nbsp},
	"pt": {decimal: ",", group: ".", minGrouping: 1, prefix: true, space: nbsp},
}

// FormatAmount formats a canonical decimal amount string ("149.9",
// "1500", "-3.25") with its ISO 4217 currency for a locale (a supported
// locale or a BCP 47 tag; anything else formats as English). It works on
// the digits of the string, never through a float:
//
//	FormatAmount("149.9", "EUR", "it")     == "149,90 €"
//	FormatAmount("1500", "EUR", "de")      == "1.500,00 €"
//	FormatAmount("149.9", "USD", "en")     == "$149.90"
//	FormatAmount("1234567.5", "EUR", "fr") == "1 234 567,50 €"
//
// Spaces are those of CLDR: U+00A0 NO-BREAK SPACE between number and
// symbol (and between a letter symbol and the number, "CHF 1,500.00"),
// U+202F NARROW NO-BREAK SPACE between French digit groups. Spanish groups
// only from five integer digits ("1500,00 €", "15.000,00 €"), as CLDR
// says. The symbol is CLDR's localized one from golang.org/x/text/currency
// ("$" in en, "USD" in it, "$US" in fr). The fraction is padded to the
// currency's standard digits (2 for EUR, 0 for JPY, 3 for KWD) but never
// cut: FormatAmount("1.999", "EUR", "en") is "€1.999", not rounded. An unknown
// currency code is written as is with 2 digits; an amount that is not a
// plain decimal is returned cleaned, next to the currency code.
func FormatAmount(amount, currencyCode, locale string) string {
	loc := localeOf(locale)
	f := numberFormats[loc]
	code := strings.ToUpper(clean(currencyCode, 8))
	symbol, digits := code, 2
	if unit, err := currency.ParseISO(code); err == nil {
		symbol = message.NewPrinter(language.Make(loc)).Sprint(currency.Symbol(unit))
		digits, _ = currency.Standard.Rounding(unit)
	}

	neg, whole, frac, ok := splitDecimal(amount)
	if !ok {
		return strings.TrimSpace(clean(amount, 64) + " " + code)
	}
	for len(frac) < digits {
		frac += "0"
	}
	num := groupDigits(whole, f.group, f.minGrouping)
	if frac != "" {
		num += f.decimal + frac
	}

	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case symbol == "":
		b.WriteString(num)
	case f.prefix:
		b.WriteString(symbol)
		last, _ := utf8.DecodeLastRuneInString(symbol)
		b.WriteString(currencySpace(f.space, last))
		b.WriteString(num)
	default:
		b.WriteString(num)
		first, _ := utf8.DecodeRuneInString(symbol)
		b.WriteString(currencySpace(f.space, first))
		b.WriteString(symbol)
	}
	return b.String()
}

// currencySpace returns the space between a number and a currency symbol
// whose rune next to the number is r. Following CLDR's currencySpacing, a
// pattern without a space gets a no-break space when that rune is not a
// symbol ("CHF 1.00", "$1.00").
func currencySpace(space string, r rune) string {
	if space == "" && !unicode.IsSymbol(r) {
		return nbsp
	}
	return space
}

// splitDecimal splits "-1234.50" into its sign, integer digits without
// leading zeros ("1234") and fraction digits ("50"). ok is false when s is
// not [-]digits[.digits].
func splitDecimal(s string) (neg bool, whole, frac string, ok bool) {
	s = strings.TrimSpace(s)
	s, neg = strings.CutPrefix(s, "-")
	whole, frac, dot := strings.Cut(s, ".")
	if !isDigits(whole) || dot && !isDigits(frac) {
		return false, "", "", false
	}
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	if whole == "0" && strings.Trim(frac, "0") == "" {
		neg = false // no "-0.00"
	}
	return neg, whole, frac, true
}

// isDigits reports whether s is a non-empty string of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// groupDigits inserts sep every three digits from the right of the ASCII
// digits d, when d has at least 3+minGrouping digits.
func groupDigits(d, sep string, minGrouping int) string {
	if len(d) < 3+minGrouping {
		return d
	}
	var b strings.Builder
	head := len(d) % 3
	if head == 0 {
		head = 3
	}
	b.WriteString(d[:head])
	for i := head; i < len(d); i += 3 {
		b.WriteString(sep)
		b.WriteString(d[i : i+3])
	}
	return b.String()
}
