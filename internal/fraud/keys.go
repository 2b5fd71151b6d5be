package fraud

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Key is one signal key: a scope and its value ("prefix", "+44-7700").
type Key struct {
	Scope Scope
	Value string
}

// String is the key as the counters store it: scope ":" value.
func (k Key) String() string { return string(k.Scope) + ":" + k.Value }

// ParseKey is the inverse of Key.String.
func ParseKey(s string) (Key, bool) {
	sc, v, ok := strings.Cut(s, ":")
	return Key{Scope(sc), v}, ok && v != ""
}

// Keys are a start's signal keys, widest scope first; a start without a
// phone has only its IP's, one without an IP none of that.
type Keys struct {
	list []Key
	// Country is the phone's ISO region ("" without a phone), for the
	// distinct-countries-per-IP signal.
	Country string
}

// KeysFor derives a start's signal keys from its E.164 phone number ("" for
// none) and its client IP ("" for none). The keys hold no whole number:
// prefixes stop PrefixLongDigits national digits in.
func KeysFor(e164, clientIP string) Keys {
	var k Keys
	if num, err := phonenumbers.Parse(e164, ""); e164 != "" && err == nil {
		region := phonenumbers.GetRegionCodeForNumber(num)
		if region == "" || region == "ZZ" {
			region = "001"
		}
		k.Country = region
		cc := "+" + strconv.Itoa(int(num.GetCountryCode()))
		nsn := phonenumbers.GetNationalSignificantNumber(num)
		k.list = append(k.list,
			Key{ScopeCountry, region},
			Key{ScopeNumberType, region + "-" + numberType(phonenumbers.GetNumberType(num))},
			Key{ScopePrefix, cc + "-" + nsn[:min(PrefixDigits, len(nsn))]},
			Key{ScopePrefixLong, cc + "-" + nsn[:min(PrefixLongDigits, len(nsn))]})
	}
	if ip := IPKey(clientIP); ip != "" {
		k.list = append(k.list, Key{ScopeIP, ip})
	}
	return k
}

// IPKey is the signal key of a client IP: the address for IPv4 (and
// IPv4-mapped IPv6), its /64 for IPv6; "" when it does not parse.
func IPKey(s string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ""
	}
	return p.String()
}

// Counted are the keys, in scope order.
func (k Keys) Counted() []Key { return k.list }

// Strings are the keys as stored (Key.String).
func (k Keys) Strings() []string {
	out := make([]string, len(k.list))
	for i, x := range k.list {
		out[i] = x.String()
	}
	return out
}

// Get returns the value of the scope's key.
func (k Keys) Get(sc Scope) (string, bool) {
	for _, x := range k.list {
		if x.Scope == sc {
			return x.Value, true
		}
	}
	return "", false
}

// Empty reports whether there is nothing to count.
func (k Keys) Empty() bool { return len(k.list) == 0 }

// numberType names a libphonenumber type for a key.
func numberType(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.MOBILE:
		return "mobile"
	case phonenumbers.FIXED_LINE:
		return "fixed_line"
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return "fixed_or_mobile"
	case phonenumbers.VOIP:
		return "voip"
	}
	return "other"
}
