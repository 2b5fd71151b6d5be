package twilio

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// defaultTimeout bounds one API request of NewHTTPClient's client.
const defaultTimeout = 10 * time.Second

// NewHTTPClient returns the HTTP client of a Twilio plug-in whose config
// sets none: a 10 s timeout per request and, as twilio-go's default
// client, no redirect followed (the redirect itself is the answer).
func NewHTTPClient() *http.Client {
	return &http.Client{
		Timeout:       defaultTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CallbackURLError reports the problem of a StatusCallbackURL setting:
// nil when it is empty (no callback) or an absolute http(s) URL.
func CallbackURLError(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("StatusCallbackURL must be an absolute http(s) URL")
	}
	return nil
}

// CredentialErrors reports the problems of a Twilio account's credentials,
// as every Twilio plug-in's Validate does: accountSID must be an AC… SID
// and authToken non-empty and alphanumeric (twilio-go refuses credentials
// with other characters). It never quotes the auth token.
func CredentialErrors(accountSID, authToken string) []error {
	var errs []error
	if !IsSID(accountSID, "AC") {
		errs = append(errs, errors.New("AccountSID must match ^AC[0-9a-fA-F]{32}$"))
	}
	if authToken == "" || !isAlnum(authToken) {
		errs = append(errs, errors.New("AuthToken must be a non-empty alphanumeric string"))
	}
	return errs
}

// IsSID reports whether s is a Twilio SID with prefix: two letters and 32
// hex digits.
func IsSID(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != 32 {
		return false
	}
	for _, r := range rest {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// IsE164 reports whether s is "+" followed by 2 to 15 digits, the first
// not 0.
func IsE164(s string) bool {
	d, ok := strings.CutPrefix(s, "+")
	if !ok || len(d) < 2 || len(d) > 15 || d[0] == '0' {
		return false
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// isAlnum reports whether s has ASCII letters and digits only.
func isAlnum(s string) bool {
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}
