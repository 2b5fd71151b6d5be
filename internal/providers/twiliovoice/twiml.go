package twiliovoice

import (
	"encoding/xml"
	"errors"
	"strings"
)

// maxTwiML is the Calls API's limit on the Twiml parameter, in characters.
const maxTwiML = 4000

// sayLanguages maps Veriflow's locales to <Say> languages.
var sayLanguages = map[string]string{
	"en": "en-US",
	"it": "it-IT",
	"es": "es-ES",
	"de": "de-DE",
	"fr": "fr-FR",
	"pt": "pt-BR",
}

// SayLanguage returns the <Say> language of a locale ("it" or "it-CH" →
// "it-IT"); en-US for a locale Veriflow does not support.
func SayLanguage(locale string) string {
	base, _, _ := strings.Cut(strings.ToLower(locale), "-")
	base, _, _ = strings.Cut(base, "_")
	if l, ok := sayLanguages[base]; ok {
		return l
	}
	return "en-US"
}

// TwiML wraps a voice script (one spoken segment per line) in a TwiML
// document: one <Say> per segment in the locale's language, with a
// one-second <Pause> between segments. The text is XML-escaped; voice, when
// set, is each <Say>'s voice attribute. It fails on an empty script or a
// document over the Calls API's 4000 characters.
func TwiML(script, locale, voice string) (string, error) {
	var b strings.Builder
	b.WriteString("<Response>")
	n := 0
	for line := range strings.SplitSeq(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if n > 0 {
			b.WriteString(`<Pause length="1"/>`)
		}
		n++
		b.WriteString(`<Say language="`)
		b.WriteString(SayLanguage(locale))
		if voice != "" {
			b.WriteString(`" voice="`)
			escape(&b, voice)
		}
		b.WriteString(`">`)
		escape(&b, line)
		b.WriteString("</Say>")
	}
	b.WriteString("</Response>")
	switch {
	case n == 0:
		return "", errors.New("twiliovoice: empty voice script")
	case len([]rune(b.String())) > maxTwiML:
		return "", errors.New("twiliovoice: the TwiML is over 4000 characters")
	}
	return b.String(), nil
}

// escape writes s XML-escaped to b (strings.Builder writes never fail).
func escape(b *strings.Builder, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
