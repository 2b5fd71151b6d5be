package messages

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

// TestAutofillLayouts pins the exact SMS of each autofill setting, in
// English and Italian: the sentences, then the app hash on its own line,
// then the origin-bound line as the very last line.
func TestAutofillLayouts(t *testing.T) {
	const (
		en = "123456 is your Acme code to sign in. It expires in 5 minutes. Never share this code with anyone."
		it = "123456 è il tuo codice Acme per accedere. Scade tra 5 minuti. Non condividerlo con nessuno."
	)
	tests := []struct {
		name, locale string
		autofill     Autofill
		want         string
	}{
		{"en neither", "en", Autofill{}, en},
		{"en origin", "en", Autofill{Origin: "example.com"}, en + "\n@example.com #123456"},
		{"en hash", "en", Autofill{AppHash: "FA+9qCX9VSu"}, en + "\nFA+9qCX9VSu"},
		{"en both", "en", Autofill{Origin: "Login.Example.com", AppHash: "FA+9qCX9VSu"}, en + "\nFA+9qCX9VSu\n@login.example.com #123456"},
		{"it neither", "it", Autofill{}, it},
		{"it origin", "it", Autofill{Origin: "example.com"}, it + "\n@example.com #123456"},
		{"it hash", "it", Autofill{AppHash: "FA+9qCX9VSu"}, it + "\nFA+9qCX9VSu"},
		{"it both", "it", Autofill{Origin: "example.com", AppHash: "FA+9qCX9VSu"}, it + "\nFA+9qCX9VSu\n@example.com #123456"},
		{"invalid values are left out", "en", Autofill{Origin: "https://example.com/x", AppHash: "short"}, en},
	}
	for _, tt := range tests {
		for _, ch := range []contract.Channel{contract.ChannelSMS, contract.ChannelRCS} {
			in := Input{Kind: contract.KindTwoFactor, Locale: tt.locale, Code: "123456", TTL: 5 * time.Minute,
				Channel: ch, Brand: "Acme", Autofill: tt.autofill}
			if got := Render(in).Text; got != tt.want {
				t.Errorf("%s (%s):\n got %q\nwant %q", tt.name, ch, got, tt.want)
			}
		}
	}
}

// TestAutofillEveryLocale checks that every locale and kind ends with the
// origin-bound line, and that only SMS and RCS carry autofill lines.
func TestAutofillEveryLocale(t *testing.T) {
	af := Autofill{Origin: "example.com", AppHash: "FA+9qCX9VSu"}
	for _, loc := range Locales() {
		for _, kind := range contract.Kinds() {
			in := sample(kind, loc)
			in.Autofill, in.Channel = af, contract.ChannelSMS
			lines := strings.Split(Render(in).Text, "\n")
			if len(lines) != 3 || lines[1] != "FA+9qCX9VSu" || lines[2] != "@example.com #482913" {
				t.Errorf("%s/%s: lines %q", loc, kind, lines)
			}
			for _, ch := range []contract.Channel{contract.ChannelWhatsApp, contract.ChannelEmail} {
				in.Channel = ch
				if r := Render(in); strings.Contains(r.Text, "\n") || strings.Contains(r.HTML, "FA+9qCX9VSu") {
					t.Errorf("%s/%s/%s carries autofill: %q", loc, kind, ch, r.Text)
				}
			}
		}
	}
}

// TestBrandInEveryChannel shows a tenant's name in the SMS, the WhatsApp
// fallback text and the e-mail's subject, text and HTML (escaped there).
func TestBrandInEveryChannel(t *testing.T) {
	const brand = `Ada & "Lovelace" <Bank>`
	for _, loc := range Locales() {
		in := Input{Kind: contract.KindSignup, Locale: loc, Code: "123456", TTL: 5 * time.Minute, Brand: brand}
		for _, ch := range []contract.Channel{contract.ChannelSMS, contract.ChannelWhatsApp, contract.ChannelRCS} {
			in.Channel = ch
			if r := Render(in); !strings.Contains(r.Text, brand) || strings.Contains(r.Text, DefaultBrand) {
				t.Errorf("%s %s text %q lacks the brand", loc, ch, r.Text)
			}
		}
		in.Channel = contract.ChannelEmail
		r := Render(in)
		if !strings.Contains(r.Subject, brand) || !strings.Contains(r.Text, brand) {
			t.Errorf("%s e-mail: subject %q text %q lack the brand", loc, r.Subject, r.Text)
		}
		const escaped = `Ada &amp; &#34;Lovelace&#34; &lt;Bank&gt;`
		if strings.Contains(r.HTML, "<Bank>") || strings.Count(r.HTML, escaped) < 3 { // title, aria-label, lead
			t.Errorf("%s e-mail HTML does not carry the escaped brand three times:\n%s", loc, r.HTML)
		}
		if strings.Contains(r.HTML, DefaultBrand) {
			t.Errorf("%s e-mail HTML still says %s", loc, DefaultBrand)
		}
	}
	r := Render(Input{Kind: contract.KindSignup, Locale: "it", Code: "1", Channel: contract.ChannelEmail})
	if r.Subject != "Il tuo codice di verifica Veriflow" {
		t.Errorf("default brand subject %q", r.Subject)
	}
}

func TestNormalizeBrand(t *testing.T) {
	ok := map[string]string{
		"":                      "",
		"  Acme   Bank ":        "Acme Bank",
		"ACME S.p.A.":           "ACME S.p.A.",
		"Crédit Agricole":       "Crédit Agricole",
		"Dr. Müller & Söhne":    "Dr. Müller & Söhne",
		strings.Repeat("x", 40): strings.Repeat("x", 40),
	}
	for in, want := range ok {
		if got, err := NormalizeBrand(in); err != nil || got != want {
			t.Errorf("NormalizeBrand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"Acme\nBank", "Acme\tBank", "Acme\u202eknaB", "Acme\u200bBank", "Acme\x00", strings.Repeat("x", 41), "\xff"} {
		if _, err := NormalizeBrand(in); err == nil {
			t.Errorf("NormalizeBrand(%q) accepted", in)
		}
	}
	for _, in := range []string{"acme.com", "Go to www.acme", "https://x", "help@acme", "ACME.bank"} {
		if _, err := NormalizeBrand(in); !errors.Is(err, ErrBrandURL) {
			t.Errorf("NormalizeBrand(%q) = %v, want ErrBrandURL", in, err)
		}
	}
}

func TestNormalizeOriginAndHash(t *testing.T) {
	for in, want := range map[string]string{"": "", "example.com": "example.com", " Login.Example.COM ": "login.example.com",
		"localhost": "localhost", "xn--bcher-kva.example": "xn--bcher-kva.example", "example.com.": "example.com"} {
		if got, err := NormalizeOrigin(in); err != nil || got != want {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"https://example.com", "example.com/login", "example.com:443", "user@example.com",
		"-bad.example", "exa_mple.com", "bücher.example", "192.168.0.1", "a..b", "#x"} {
		if got, err := NormalizeOrigin(in); err == nil {
			t.Errorf("NormalizeOrigin(%q) = %q, want an error", in, got)
		}
	}
	for _, in := range []string{"", "FA+9qCX9VSu", "abcdefghij0", "ab/defghij0"} {
		if got, err := NormalizeAppHash(in); err != nil || got != in {
			t.Errorf("NormalizeAppHash(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"FA+9qCX9VS", "FA+9qCX9VSuu", "FA-9qCX9VSu", "FA 9qCX9VSu", "FA=9qCX9VSu"} {
		if _, err := NormalizeAppHash(in); err == nil {
			t.Errorf("NormalizeAppHash(%q) accepted", in)
		}
	}
}
