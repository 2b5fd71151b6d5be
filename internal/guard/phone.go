package guard

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NonGeographic is libphonenumber's region code for numbers of no country:
// international networks and satellite services (+881, +882, +883),
// UIFN (+800), international shared cost (+808) and premium (+979). They
// are refused unless a tenant lists it in Policy.AllowedCountries.
const NonGeographic = "001"

// Number types, as libphonenumber classifies a number (GetNumberType):
//
//	allowed: MOBILE, FIXED_LINE_OR_MOBILE, VOIP, FIXED_LINE
//	refused: PREMIUM_RATE, SHARED_COST, TOLL_FREE, UAN, VOICEMAIL, PAGER,
//	         PERSONAL_NUMBER, UNKNOWN
//
// FIXED_LINE is allowed: an SMS may not arrive, but the delivery plan fails
// over to the next channel, and some carriers read texts to landlines.
// VOIP is allowed: people really use such numbers, and it is a tenant's
// business (not abuse of Veriflow) to distrust them at sign-up.
//
// The refused ones cost money to reach or cannot receive a code: premium,
// shared-cost and toll-free numbers are the targets of SMS pumping (the
// number's owner is paid per message terminated), UAN and PAGER numbers
// reach a company or a pager, VOICEMAIL numbers a mailbox. PERSONAL_NUMBER
// (the UK's 070 "follow-me" range) is refused too: such numbers forward to
// any other number at a revenue-share rate and are a known fraud vector,
// while almost no one needs an OTP on one. UNKNOWN is a number that fits no
// known pattern of its country.
func numberTypeAllowed(t phonenumbers.PhoneNumberType) bool {
	switch t {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE, phonenumbers.VOIP, phonenumbers.FIXED_LINE:
		return true
	}
	return false
}

// numberTypeName is the client-safe name of a refused type ("" for UNKNOWN).
func numberTypeName(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.TOLL_FREE:
		return "toll-free"
	case phonenumbers.PREMIUM_RATE:
		return "premium-rate"
	case phonenumbers.SHARED_COST:
		return "shared-cost"
	case phonenumbers.PERSONAL_NUMBER:
		return "personal (forwarding)"
	case phonenumbers.PAGER:
		return "pager"
	case phonenumbers.UAN:
		return "universal access"
	case phonenumbers.VOICEMAIL:
		return "voicemail access"
	}
	return ""
}

// CheckPhone refuses numbers the tenant may not send to: a number whose
// country (ISO 3166 alpha-2, as libphonenumber assigns it) is not in the
// tenant's AllowedCountries (an empty list allows every country, but not
// NonGeographic numbers, which must be listed explicitly), and a number of
// a type that is unusable for one-time codes (see numberTypeAllowed). It is
// a pure function of the policy: it reads no store. The refusal's Field is
// "to.phone"; its Detail never contains the number.
func (g *Guard) CheckPhone(tenant, e164 string) *Refusal {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return &Refusal{Code: CodeNumberTypeNotAllowed, Field: fieldPhone,
			Detail: "the phone number is not a valid number of any country"}
	}
	region := phonenumbers.GetRegionCodeForNumber(num)
	if region == "" {
		region = NonGeographic
	}
	if !countryAllowed(g.policy(tenant).AllowedCountries, region) {
		detail := "sending to phone numbers of this country (" + region + ") is not enabled for this account"
		if region == NonGeographic {
			detail = "sending to international network and satellite numbers (+" +
				strconv.Itoa(int(num.GetCountryCode())) + ") is not enabled for this account"
		}
		return &Refusal{Code: CodeCountryNotAllowed, Field: fieldPhone, Detail: detail}
	}
	if t := phonenumbers.GetNumberType(num); !numberTypeAllowed(t) {
		name := numberTypeName(t)
		if name == "" {
			return &Refusal{Code: CodeNumberTypeNotAllowed, Field: fieldPhone,
				Detail: "the phone number is not of a type that can receive verification codes"}
		}
		return &Refusal{Code: CodeNumberTypeNotAllowed, Field: fieldPhone,
			Detail: "verification codes are not sent to " + name + " numbers"}
	}
	return nil
}

// countryAllowed reports whether region is allowed by list (case
// insensitive); an empty list allows every country but NonGeographic.
func countryAllowed(list []string, region string) bool {
	if len(list) == 0 {
		return region != NonGeographic
	}
	for _, c := range list {
		if strings.EqualFold(strings.TrimSpace(c), region) {
			return true
		}
	}
	return false
}

// phonePrefix is the velocity key of a number: "+" country code "-" the
// first three digits of the national significant number ("+44-701"); ok is
// false when e164 does not parse.
func phonePrefix(e164 string) (prefix string, ok bool) {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return "", false
	}
	nsn := phonenumbers.GetNationalSignificantNumber(num)
	if len(nsn) > 3 {
		nsn = nsn[:3]
	}
	return "+" + strconv.Itoa(int(num.GetCountryCode())) + "-" + nsn, true
}
