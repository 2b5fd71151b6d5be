// Package messages renders code messages in the supported locales (see
// Locales): the SMS/WhatsApp text and the e-mail subject, text and HTML
// parts. Every message starts with the code, names what it approves (the
// amount and payee of a transaction, the title of a signed document), says
// how long the code lasts and never to share it. The words of every locale
// live in one table, catalog, in texts.go.
package messages

import (
	"errors"
	htmltemplate "html/template"
	"strconv"
	"strings"
	"text/template"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"

	"github.com/veriflow/veriflow/internal/contract"
)

// DefaultBrand is the sender/app name used when Input.Brand is empty.
const DefaultBrand = "Veriflow"

// Length limits applied to untrusted fields, in runes. Payee and title are
// validated upstream to the same limits; these are a safety net.
const (
	maxPayee = 140
	maxTitle = 200
	maxBrand = 40
	maxCode  = 32
)

// Input is what a message is made of.
type Input struct {
	Kind contract.Kind
	// Locale is a supported locale or a BCP 47 tag (see Resolve); anything
	// else renders in English.
	Locale string
	Code   string
	// TTL is how long the code lasts, told in whole minutes rounded up
	// (at least 1).
	TTL time.Duration
	// Channel is where the message goes; SMS and WhatsApp need only Text.
	Channel contract.Channel
	// Transaction is what a transaction code approves.
	Transaction *contract.Transaction
	// Document is what a signature code consents to.
	Document *contract.Document
	// Brand is the tenant's display name, said in every channel's text and
	// the e-mail subject; empty means DefaultBrand.
	Brand string
	// Autofill, for the SMS and RCS channels, appends the lines that
	// browsers and Android apps read to fill the code in (see Render).
	Autofill Autofill
}

// Rendered is a message ready for a provider.
type Rendered struct {
	// Subject is the e-mail subject.
	Subject string
	// Text is the SMS or WhatsApp text, and the text part of an e-mail.
	// It uses plain spaces only (no U+00A0/U+202F from amounts), so that
	// en, it, de and fr texts stay in the GSM-7 alphabet. For the voice
	// channel it is the spoken script, one segment per line (see
	// renderVoice), and Subject and HTML are empty.
	Text string
	// HTML is the HTML part of an e-mail, with the same sentences as Text.
	HTML string
}

// data is what the templates of catalog can use.
type data struct {
	Code    string
	Brand   string
	Amount  string
	Payee   string
	Title   string
	Minutes string
	Unit    string
}

// Render renders the message of in. Subject and HTML are left empty for
// the SMS and WhatsApp channels, which carry Text only; they are filled
// for e-mail and when Channel is empty. Untrusted fields (payee, title,
// brand) lose control characters and line breaks and are clamped in
// length; HTML escapes them.
//
// For SMS and RCS, a configured Autofill adds lines after the sentences,
// in every locale: the Android app hash on a line of its own, then the
// origin-bound line as the very last line (WebOTP reads only the last
// line; SMS Retriever finds its hash anywhere in the message):
//
//	123456 is your Acme code to sign in. It expires in 5 minutes. Never share this code with anyone.
//	FA+9qCX9VSu
//	@example.com #123456
func Render(in Input) Rendered {
	loc := localeOf(in.Locale)
	r, err := render(loc, in)
	if err != nil && loc != defaultLocale {
		r, err = render(defaultLocale, in)
	}
	if err != nil { // unreachable: tests execute every template
		r = Rendered{Text: clean(in.Code, maxCode)}
	}
	if in.Channel == contract.ChannelSMS || in.Channel == contract.ChannelRCS {
		r.Text += in.Autofill.lines(clean(in.Code, maxCode))
	}
	return r
}

// render renders in with the texts of the supported locale loc.
func render(loc string, in Input) (Rendered, error) {
	tpl, ok := compiled[loc]
	if !ok {
		return Rendered{}, errors.New("messages: no texts for " + loc)
	}
	minutes := max(int((in.TTL+time.Minute-1)/time.Minute), 1)
	d := data{
		Code:    clean(in.Code, maxCode),
		Brand:   clean(in.Brand, maxBrand),
		Minutes: groupDigits(strconv.Itoa(minutes), numberFormats[loc].group, numberFormats[loc].minGrouping),
		Unit:    catalog[loc].minute[1],
	}
	if d.Brand == "" {
		d.Brand = DefaultBrand
	}
	if plural.Cardinal.MatchPlural(language.Make(loc), minutes, 0, 0, 0, 0) == plural.One {
		d.Unit = catalog[loc].minute[0]
	}
	lead := "generic"
	switch in.Kind {
	case contract.KindTransaction:
		if tx := in.Transaction; tx != nil {
			lead = string(in.Kind)
			d.Amount = FormatAmount(tx.Amount, tx.Currency, loc)
			d.Payee = clean(tx.Payee, maxPayee)
		}
	case contract.KindSignature:
		if doc := in.Document; doc != nil {
			lead = string(in.Kind)
			d.Title = clean(doc.Title, maxTitle)
		}
	case contract.KindSignup, contract.KindPasswordReset, contract.KindTwoFactor:
		lead = string(in.Kind)
	}

	if in.Channel == contract.ChannelVoice {
		return renderVoice(loc, lead, d)
	}
	var sentences [3]string
	for i, name := range []string{lead, "expiry", "warning"} {
		s, err := execute(tpl, name, d)
		if err != nil {
			return Rendered{}, err
		}
		sentences[i] = tidy(s)
	}
	r := Rendered{Text: plainSpaces(strings.Join(sentences[:], " "))}
	if in.Channel == contract.ChannelSMS || in.Channel == contract.ChannelWhatsApp || in.Channel == contract.ChannelRCS {
		return r, nil
	}
	subject, err := execute(tpl, "subject", d)
	if err != nil {
		return Rendered{}, err
	}
	var html strings.Builder
	err = emailPage.Execute(&html, struct{ Lang, Subject, Lead, Code, Expiry, Warning string }{
		loc, subject, sentences[0], d.Code, sentences[1], sentences[2]})
	if err != nil {
		return Rendered{}, err
	}
	r.Subject, r.HTML = subject, html.String()
	return r, nil
}

// execute runs the named template of a locale.
func execute(tpl *template.Template, name string, d data) (string, error) {
	var b strings.Builder
	if err := tpl.ExecuteTemplate(&b, name, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// compiled holds the templates of catalog, one set per locale, named after
// the kinds plus "generic", "expiry", "warning" and "subject". It is
// derived once from catalog and never changes.
var compiled = compile(catalog)

// emailPage is emailHTML, parsed once.
var emailPage = htmltemplate.Must(htmltemplate.New("email").Parse(emailHTML))

// compile parses the texts of every locale; it panics on a malformed
// template, which the tests would catch first.
func compile(c map[string]texts) map[string]*template.Template {
	out := make(map[string]*template.Template, len(c))
	for loc, t := range c {
		set := template.New(loc)
		add := func(name, text string) {
			template.Must(set.New(name).Parse(text))
		}
		for kind, text := range t.lead {
			add(string(kind), text)
		}
		add("generic", t.generic)
		add("expiry", t.expiry)
		add("warning", t.warning)
		add("subject", t.subject)
		out[loc] = set
	}
	return out
}

// tidy collapses a doubled final period, left when a sentence ends with a
// payee like "ACME S.p.A.": "…to ACME S.p.A.." becomes "…to ACME S.p.A.".
// An ellipsis ("...") is kept.
func tidy(s string) string {
	if strings.HasSuffix(s, "..") && !strings.HasSuffix(s, "...") {
		return s[:len(s)-1]
	}
	return s
}

// plainSpaces replaces the no-break spaces of formatted amounts with
// plain spaces, which GSM-7 has.
func plainSpaces(s string) string {
	return strings.NewReplacer(nbsp, " ", nnbsp, " ").Replace(s)
}
