package messages

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxBrand is the longest display name a tenant may set, in runes.
const MaxBrand = maxBrand

// AppHashLen is the length of an Android SMS Retriever app hash.
const AppHashLen = 11

// Autofill makes an SMS (or RCS text) readable by the code autofill of
// browsers and Android apps. Both fields are optional; see Render for the
// layout.
type Autofill struct {
	// Origin is the tenant's web host ("example.com"): the message ends
	// with the origin-bound line "@example.com #123456" that WebOTP and
	// Safari's one-time-code autofill read (WICG "Origin-bound one-time
	// codes delivered via SMS": the last line of the message).
	Origin string
	// AppHash is the tenant's 11-character Android SMS Retriever hash
	// (derived from the app's package name and signing certificate); the
	// message carries it on a line of its own.
	AppHash string
}

// lines returns the autofill lines of code, each preceded by a line break:
// the app hash, then the origin-bound line, which must be the message's
// last line. Values that fail validation are left out (they are validated
// when configured; this is a safety net).
func (a Autofill) lines(code string) string {
	var b strings.Builder
	if h, err := NormalizeAppHash(a.AppHash); err == nil && h != "" {
		b.WriteString("\n" + h)
	}
	if o, err := NormalizeOrigin(a.Origin); err == nil && o != "" && code != "" {
		b.WriteString("\n@" + o + " #" + code)
	}
	return b.String()
}

// label is one DNS label: letters, digits and inner hyphens.
var label = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NormalizeOrigin checks a tenant's web origin for the origin-bound line
// and returns it in lower case; "" stays "" (no origin). It must be a bare
// DNS host name ("example.com", "login.example.co.uk"): no scheme, port,
// path or IP address; internationalized names in their xn-- form.
func NormalizeOrigin(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", nil
	}
	if strings.ContainsAny(s, ":/?#@ ") || len(s) > 253 {
		return "", fmt.Errorf("origin %q: want a bare host such as example.com, without scheme, port or path", s)
	}
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	for _, l := range labels {
		if !label.MatchString(l) {
			return "", fmt.Errorf("origin %q: %q is not a DNS label (letters, digits, hyphens; xn-- for other scripts)", s, l)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", fmt.Errorf("origin %q: want a host name, not an IP address", s)
	}
	return strings.Join(labels, "."), nil
}

// appHash is the alphabet of SMS Retriever hashes (base64 without padding).
var appHash = regexp.MustCompile(`^[A-Za-z0-9+/]{11}$`)

// NormalizeAppHash checks an Android SMS Retriever app hash: exactly 11
// characters of [A-Za-z0-9+/]; "" stays "" (no hash).
func NormalizeAppHash(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || appHash.MatchString(s) {
		return s, nil
	}
	return "", fmt.Errorf("app hash %q: want exactly %d characters of A-Z, a-z, 0-9, + and /", s, AppHashLen)
}

// ErrBrandURL is returned by NormalizeBrand for a name that looks like a
// link: phones turn it into one, and carriers filter such codes.
var ErrBrandURL = errors.New("looks like a web address or e-mail (phones would make it a link)")

// domainLike matches a web address, an e-mail address or a host name in a
// display name ("acme.com", "www.acme", "x@y", "http:").
var domainLike = regexp.MustCompile(`(?i)(://|www\.|@|[a-z0-9-]+\.[a-z]{2,}\b)`)

// NormalizeBrand checks a tenant's display name and returns it trimmed,
// with runs of spaces collapsed; "" stays "" (the deployment's default
// applies). It refuses control characters and line breaks, invisible
// format characters (bidi overrides, zero-width spaces), names longer
// than MaxBrand runes, and anything that looks like a web or e-mail
// address.
func NormalizeBrand(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("name is not valid UTF-8")
	}
	for _, r := range s {
		if r != ' ' && (unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) && r != zwnj && r != zwj) {
			return "", fmt.Errorf("name has a control, format or line-break character (%U)", r)
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if n := utf8.RuneCountInString(s); n > MaxBrand {
		return "", fmt.Errorf("name has %d characters, at most %d allowed", n, MaxBrand)
	}
	if domainLike.MatchString(s) {
		return "", fmt.Errorf("name %q %w", s, ErrBrandURL)
	}
	return s, nil
}
