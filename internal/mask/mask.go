// Package mask masks destinations for responses and logs.
package mask

import "strings"

// Phone masks an E.164 number, keeping the country code and the first
// digits and the last two: +393331234567 → +39333*****67.
func Phone(p string) string {
	if p == "" {
		return ""
	}
	r := []rune(p)
	if len(r) < 8 {
		return "***"
	}
	keep, tail := 6, 2
	return string(r[:keep]) + strings.Repeat("*", len(r)-keep-tail) + string(r[len(r)-tail:])
}

// Email masks the local part of an address: ada@example.com → a***@example.com.
func Email(e string) string {
	if e == "" {
		return ""
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" {
		return "***"
	}
	first := []rune(local)[0]
	return string(first) + "***@" + domain
}

// Destination masks a phone number or an email address.
func Destination(d string) string {
	if strings.Contains(d, "@") {
		return Email(d)
	}
	return Phone(d)
}
