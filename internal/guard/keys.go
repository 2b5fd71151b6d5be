package guard

import (
	"net/netip"
	"slices"
	"strings"
)

// The rate-limit keys: a destination is limited by the keyed hash of its
// address, a client by its IP (or its IPv6 /64).

// normHash trims and lower-cases a hex hash.
func normHash(h string) string { return strings.ToLower(strings.TrimSpace(h)) }

// dedupHashes normalises hs (normHash), dropping empty and repeated ones.
func dedupHashes(hs []string) []string {
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		h = normHash(h)
		if h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// normIP is the rate-limit key of a client IP: the address for IPv4 (and
// IPv4-mapped IPv6), its /64 for IPv6 (one subscriber usually has a whole
// /64 and can rotate through it), the trimmed text if it does not parse.
func normIP(s string) string {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		return s
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}
