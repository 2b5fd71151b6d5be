package messages

import (
	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
)

// defaultLocale is the locale of last resort.
const defaultLocale = "en"

// regionLocales maps a phone number's region (ISO 3166-1) to the locale
// its messages are written in. A region that is not listed gets English.
// Multilingual countries get the language of the majority or the one the
// product asked for (BE→fr, CH→de, CA→en); French also serves the
// Maghreb and francophone Africa, whose languages are not supported.
var regionLocales = map[string]string{
	// Italian.
	"IT": "it", "SM": "it", "VA": "it",
	// Spanish: Spain, Latin America, Puerto Rico, Equatorial Guinea.
	"ES": "es", "MX": "es", "GT": "es", "HN": "es", "SV": "es", "NI": "es",
	"CR": "es", "PA": "es", "CU": "es", "DO": "es", "PR": "es", "CO": "es",
	"VE": "es", "EC": "es", "PE": "es", "BO": "es", "CL": "es", "PY": "es",
	"UY": "es", "AR": "es", "GQ": "es",
	// German.
	"DE": "de", "AT": "de", "LI": "de", "CH": "de",
	// French: Europe, overseas France, Haiti, Maghreb, francophone Africa.
	"FR": "fr", "BE": "fr", "LU": "fr", "MC": "fr",
	"GF": "fr", "GP": "fr", "MQ": "fr", "RE": "fr", "YT": "fr", "PM": "fr",
	"BL": "fr", "MF": "fr", "NC": "fr", "PF": "fr", "WF": "fr", "HT": "fr",
	"MA": "fr", "DZ": "fr", "TN": "fr",
	"SN": "fr", "CI": "fr", "ML": "fr", "BF": "fr", "NE": "fr", "TG": "fr",
	"BJ": "fr", "GN": "fr", "CM": "fr", "GA": "fr", "CG": "fr", "CD": "fr",
	"CF": "fr", "TD": "fr", "MG": "fr", "DJ": "fr", "KM": "fr", "BI": "fr",
	// Portuguese.
	"PT": "pt", "BR": "pt", "AO": "pt", "MZ": "pt", "CV": "pt", "GW": "pt",
	"ST": "pt", "TL": "pt",
}

// Locales lists the supported locales: en, it, es, de, fr, pt.
func Locales() []string {
	return []string{"en", "it", "es", "de", "fr", "pt"}
}

// Resolve picks the message locale. The requested BCP 47 tag wins when its
// base language is supported ("pt-BR" → "pt", "it-IT" → "it"); otherwise
// the language of the country of phone (E.164, e.g. "+393331234567") is
// used; otherwise "en". A number that parses but is valid for no region
// (a new or short number) still counts for its calling code's main
// region; a number that does not parse counts for nothing.
func Resolve(requested, phone string) string {
	if loc, ok := supported(requested); ok {
		return loc
	}
	if loc, ok := regionLocales[phoneRegion(phone)]; ok {
		return loc
	}
	return defaultLocale
}

// supported returns the supported locale of the BCP 47 tag s: its base
// language, when it is explicit in s and has texts.
func supported(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	tag, _ := language.Parse(s) // on error tag is und, whose base is not Exact
	base, conf := tag.Base()
	if conf != language.Exact {
		return "", false
	}
	if _, ok := catalog[base.String()]; !ok {
		return "", false
	}
	return base.String(), true
}

// localeOf returns the supported locale of tag s, or "en".
func localeOf(s string) string {
	if loc, ok := supported(s); ok {
		return loc
	}
	return defaultLocale
}

// phoneRegion returns the region (ISO 3166-1) of an international phone
// number, or "" when it cannot tell.
func phoneRegion(phone string) string {
	if phone == "" {
		return ""
	}
	num, err := phonenumbers.Parse(phone, "")
	if err != nil {
		return ""
	}
	if region := phonenumbers.GetRegionCodeForNumber(num); region != "" {
		return region
	}
	return phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
}
