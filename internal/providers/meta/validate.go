package meta

import "strings"

// Character-set checks of configuration and wire values.

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLower(c byte) bool  { return c >= 'a' && c <= 'z' }
func isLetter(c byte) bool { return isLower(c) || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool  { return isLetter(c) || isDigit(c) }

// allOf reports whether s is not empty and every byte of it satisfies ok.
func allOf(s string, ok func(byte) bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool { return allOf(s, isDigit) }

// validAPIVersion accepts a Graph API version such as v23.0.
func validAPIVersion(s string) bool {
	rest, ok := strings.CutPrefix(s, "v")
	major, minor, ok2 := strings.Cut(rest, ".")
	return ok && ok2 && isDigits(major) && isDigits(minor)
}

// validTemplateName accepts Meta's template names: lowercase letters,
// digits and underscores, at most 512 characters.
func validTemplateName(s string) bool {
	return len(s) <= 512 && allOf(s, func(c byte) bool { return isLower(c) || isDigit(c) || c == '_' })
}

// validLanguageCode accepts Meta's language codes: en, fil, en_US, zh_CHS.
func validLanguageCode(s string) bool {
	lang, region, hasRegion := strings.Cut(s, "_")
	if len(lang) < 2 || len(lang) > 3 || !allOf(lang, isLower) {
		return false
	}
	return !hasRegion || len(region) >= 2 && len(region) <= 4 && allOf(region, isLetter)
}

// validAndroidPackage accepts an Android application id: two or more
// dot-separated segments, each a letter followed by letters, digits or
// underscores.
func validAndroidPackage(s string) bool {
	if len(s) > 224 {
		return false
	}
	segments := strings.Split(s, ".")
	if len(segments) < 2 {
		return false
	}
	for _, seg := range segments {
		if seg == "" || !isLetter(seg[0]) || !allOf(seg, func(c byte) bool { return isAlnum(c) || c == '_' }) {
			return false
		}
	}
	return true
}

// validSignatureHash accepts the 11-character app signature hash of the
// SMS Retriever API (base64 characters).
func validSignatureHash(s string) bool {
	return len(s) == 11 && allOf(s, func(c byte) bool { return isAlnum(c) || c == '+' || c == '/' })
}

// validChallenge bounds what Challenge echoes back (Meta sends an integer).
func validChallenge(s string) bool {
	return len(s) <= 128 && allOf(s, func(c byte) bool { return isAlnum(c) || c == '_' || c == '.' || c == '-' })
}
