package messages

import (
	"strings"
	"unicode"
)

// Joiners kept by clean: some scripts and emoji need them.
const (
	zwnj = '\u200c'
	zwj  = '\u200d'
)

// clean makes an untrusted field safe to put in a one-line message: it
// repairs invalid UTF-8, turns control characters, line breaks and every
// kind of space into single plain spaces, drops invisible format
// characters (bidi overrides, zero-width spaces, BOM) that could disguise
// the text, trims it and clamps it to limit runes, ending a clamped value
// with "…".
func clean(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	runes := make([]rune, 0, len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsControl(r) || unicode.IsSpace(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Zs):
			space = len(runes) > 0
		case unicode.Is(unicode.Cf, r) && r != zwnj && r != zwj:
			// dropped
		default:
			if space {
				runes = append(runes, ' ')
				space = false
			}
			runes = append(runes, r)
		}
	}
	if len(runes) > limit {
		runes = append([]rune(strings.TrimRight(string(runes[:limit-1]), " ")), '…')
	}
	return string(runes)
}
