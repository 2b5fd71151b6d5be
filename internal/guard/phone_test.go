package guard

import (
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestCheckPhone(t *testing.T) {
	policies := map[string]Policy{
		"it-only": {AllowedCountries: []string{"it"}},
		"eu":      {AllowedCountries: []string{"IT", " FR ", "DE"}},
		"sat":     {AllowedCountries: []string{NonGeographic}},
	}
	g := New(newFakeStore(), func(t string) Policy { return policies[t] }, nil)
	cases := []struct {
		name, tenant, phone string
		code                string // "" = allowed
	}{
		{"Italian mobile", "", "+393123456789", ""},
		{"Italian fixed line (allowed: failover handles SMS)", "", "+390612345678", ""},
		{"UK fixed line", "", "+442079460123", ""},
		{"US fixed line or mobile", "", "+12015550123", ""},
		{"German mobile", "", "+4915123456789", ""},
		{"US premium rate +1 900", "", "+19002345678", CodeNumberTypeNotAllowed},
		{"Italian premium rate 899", "", "+39899123456", CodeNumberTypeNotAllowed},
		{"US toll free +1 800", "", "+18002530000", CodeNumberTypeNotAllowed},
		{"US toll free +1 888", "", "+18882345678", CodeNumberTypeNotAllowed},
		{"UK toll free 0800", "", "+448001234567", CodeNumberTypeNotAllowed},
		{"UK personal number 070", "", "+447012345678", CodeNumberTypeNotAllowed},
		{"UK pager 076", "", "+447640123456", CodeNumberTypeNotAllowed},
		{"UK UAN 055", "", "+445512345678", CodeNumberTypeNotAllowed},
		{"UK drama range (invalid)", "", "+447700900123", CodeNumberTypeNotAllowed},
		{"garbage", "", "not a number", CodeNumberTypeNotAllowed},
		{"empty", "", "", CodeNumberTypeNotAllowed},
		{"satellite +881 refused by default", "", "+881912345678", CodeCountryNotAllowed},
		{"UIFN +800 refused by default", "", "+80012345678", CodeCountryNotAllowed},
		{"satellite allowed when 001 is listed", "sat", "+881912345678", ""},
		{"UIFN is toll free even when 001 is listed", "sat", "+80012345678", CodeNumberTypeNotAllowed},
		{"allow-list: listed country (lower case)", "it-only", "+393123456789", ""},
		{"allow-list: other country", "it-only", "+33612345678", CodeCountryNotAllowed},
		{"allow-list: US", "it-only", "+12015550123", CodeCountryNotAllowed},
		{"allow-list with spaces", "eu", "+33612345678", ""},
		{"allow-list checked before type", "it-only", "+19002345678", CodeCountryNotAllowed},
	}
	for _, c := range cases {
		r := g.CheckPhone(c.tenant, c.phone)
		switch {
		case c.code == "" && r != nil:
			t.Errorf("%s (%s): refused: %v", c.name, c.phone, r)
		case c.code != "" && r == nil:
			t.Errorf("%s (%s): allowed, want %s", c.name, c.phone, c.code)
		case r != nil:
			if r.Code != c.code || r.Field != "to.phone" || r.Detail == "" || r.RetryAfter != 0 {
				t.Errorf("%s (%s): %+v, want code %s on to.phone", c.name, c.phone, r, c.code)
			}
			if digits, ok := strings.CutPrefix(c.phone, "+"); ok && len(digits) > 4 && strings.Contains(r.Detail, digits[len(digits)-4:]) {
				t.Errorf("%s: detail %q leaks the number", c.name, r.Detail)
			}
			if !strings.Contains(r.Error(), c.code) {
				t.Errorf("%s: Error() = %q", c.name, r.Error())
			}
		}
	}
}

// TestNumberTypes checks the decision for every type against
// libphonenumber's own example numbers, in every region that has one.
func TestNumberTypes(t *testing.T) {
	g := New(newFakeStore(), nil, nil)
	allowed := map[phonenumbers.PhoneNumberType]bool{
		phonenumbers.MOBILE: true, phonenumbers.FIXED_LINE_OR_MOBILE: true, phonenumbers.VOIP: true,
		phonenumbers.FIXED_LINE: true,
		phonenumbers.TOLL_FREE:  false, phonenumbers.PREMIUM_RATE: false, phonenumbers.SHARED_COST: false,
		phonenumbers.PERSONAL_NUMBER: false, phonenumbers.PAGER: false, phonenumbers.UAN: false,
		phonenumbers.VOICEMAIL: false,
	}
	seen := map[phonenumbers.PhoneNumberType]int{}
	for region := range phonenumbers.GetSupportedRegions() {
		for typ, want := range allowed {
			n := phonenumbers.GetExampleNumberForType(region, typ)
			if n == nil || phonenumbers.GetNumberType(n) != typ {
				continue // no example, or it is ambiguous (e.g. FIXED_LINE_OR_MOBILE)
			}
			seen[typ]++
			e164 := phonenumbers.Format(n, phonenumbers.E164)
			r := g.CheckPhone("", e164)
			if want && r != nil {
				t.Errorf("%s %v %s: refused: %v", region, typ, e164, r)
			}
			if !want && (r == nil || r.Code != CodeNumberTypeNotAllowed) {
				t.Errorf("%s %v %s: %v, want number_type_not_allowed", region, typ, e164, r)
			}
		}
	}
	for typ := range allowed {
		if typ != phonenumbers.FIXED_LINE_OR_MOBILE && seen[typ] == 0 {
			t.Errorf("no example number of type %v", typ)
		}
	}
}

func TestPhonePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"+447911123456": "+44-791",
		"+393123456789": "+39-312",
		"+390612345678": "+39-061", // Italian fixed lines keep their leading 0
		"+12015550123":  "+1-201",
	} {
		if got, ok := phonePrefix(in); !ok || got != want {
			t.Errorf("phonePrefix(%s) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := phonePrefix("nope"); ok {
		t.Error("phonePrefix(nope) ok")
	}
}
