package messages

import (
	"fmt"
	"html"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/veriflow/veriflow/internal/contract"
)

// Per-locale phrases the tests look for, written independently of catalog.
var (
	dontShare = map[string]string{
		"en": "Never share this code",
		"it": "Non condividerlo con nessuno",
		"es": "No lo compartas con nadie",
		"de": "Geben Sie ihn niemals weiter",
		"fr": "Ne le partagez avec personne",
		"pt": "Não compartilhe com ninguém",
	}
	minuteWords = map[string][2]string{
		"en": {"minute", "minutes"},
		"it": {"minuto", "minuti"},
		"es": {"minuto", "minutos"},
		"de": {"Minute", "Minuten"},
		"fr": {"minute", "minutes"},
		"pt": {"minuto", "minutos"},
	}
	// gsm7Locales must render in the GSM-7 alphabet (160 characters per SMS).
	gsm7Locales = map[string]bool{"en": true, "it": true, "de": true, "fr": true}
)

func sample(kind contract.Kind, loc string) Input {
	return Input{
		Kind: kind, Locale: loc, Code: "482913", TTL: 5 * time.Minute, Channel: contract.ChannelEmail,
		Transaction: &contract.Transaction{Amount: "1500", Currency: "EUR", Payee: "ACME S.p.A."},
		Document:    &contract.Document{SHA256: strings.Repeat("ab", 32), Title: "Contract 2026-001"},
	}
}

func TestRenderAllKindsAndLocales(t *testing.T) {
	for _, loc := range Locales() {
		leads := map[string]contract.Kind{}
		for _, kind := range contract.Kinds() {
			t.Run(loc+"/"+string(kind), func(t *testing.T) {
				in := sample(kind, loc)
				r, err := render(loc, in)
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				if r != Render(in) {
					t.Fatalf("Render differs from render")
				}
				want := []string{"Veriflow", "5 " + minuteWords[loc][1], dontShare[loc]}
				switch kind {
				case contract.KindTransaction:
					want = append(want, plainSpaces(FormatAmount("1500", "EUR", loc)), "ACME S.p.A.")
				case contract.KindSignature:
					want = append(want, `"Contract 2026-001"`)
				}
				if !strings.HasPrefix(r.Text, "482913 ") {
					t.Errorf("text does not start with the code: %q", r.Text)
				}
				for _, w := range want {
					if !strings.Contains(r.Text, w) {
						t.Errorf("text %q lacks %q", r.Text, w)
					}
					if !strings.Contains(plainSpaces(r.HTML), html.EscapeString(w)) {
						t.Errorf("HTML lacks %q:\n%s", w, r.HTML)
					}
				}
				if amount := FormatAmount("1500", "EUR", loc); kind == contract.KindTransaction && !strings.Contains(r.HTML, amount) {
					t.Errorf("HTML lacks the amount with its no-break spaces %q", amount)
				}
				if strings.Contains(r.Text, "..") || strings.ContainsAny(r.Text, nbsp+nnbsp+"\n{}") {
					t.Errorf("text %q has a doubled period, a no-break space, a newline or a brace", r.Text)
				}
				if r.Subject == "" || strings.ContainsAny(r.Subject, "{}") {
					t.Errorf("subject %q", r.Subject)
				}
				for _, w := range []string{`lang="` + loc + `"`, ">482913</p>", "<title>" + html.EscapeString(r.Subject) + "</title>"} {
					if !strings.Contains(r.HTML, w) {
						t.Errorf("HTML lacks %q:\n%s", w, r.HTML)
					}
				}
				// Every sentence of the text is in the HTML.
				for _, s := range strings.SplitAfter(r.Text, ". ") {
					if !strings.Contains(plainSpaces(r.HTML), html.EscapeString(strings.TrimSpace(s))) {
						t.Errorf("HTML lacks sentence %q:\n%s", s, r.HTML)
					}
				}
				lead, _, _ := strings.Cut(r.Text, ". ")
				if other, dup := leads[lead]; dup {
					t.Errorf("%s and %s share the lead %q", kind, other, lead)
				}
				leads[lead] = kind
				septets, gsm := gsm7Length(r.Text)
				if gsm7Locales[loc] && !gsm {
					t.Errorf("%s text leaves GSM-7: %q", loc, r.Text)
				}
				if gsm && septets > 160 || !gsm && utf8.RuneCountInString(r.Text) > 2*67 {
					t.Errorf("text too long (%d septets, gsm %v): %q", septets, gsm, r.Text)
				}
			})
		}
	}
}

func TestCatalogComplete(t *testing.T) {
	for loc, texts := range catalog {
		if len(texts.lead) != len(contract.Kinds()) {
			t.Errorf("%s has %d leads, want %d", loc, len(texts.lead), len(contract.Kinds()))
		}
		for _, kind := range contract.Kinds() {
			if !strings.HasPrefix(texts.lead[kind], "{{.Code}} ") {
				t.Errorf("%s/%s does not start with the code: %q", loc, kind, texts.lead[kind])
			}
		}
		if !strings.HasPrefix(texts.generic, "{{.Code}} ") {
			t.Errorf("%s/generic does not start with the code", loc)
		}
		if !strings.Contains(texts.expiry, "{{.Minutes}}") || !strings.Contains(texts.expiry, "{{.Unit}}") {
			t.Errorf("%s/expiry lacks the minutes: %q", loc, texts.expiry)
		}
		if texts.minute[0] == "" || texts.minute[1] == "" {
			t.Errorf("%s lacks minute words", loc)
		}
	}
}

func TestMinutes(t *testing.T) {
	for _, loc := range Locales() {
		for _, tt := range []struct {
			ttl  time.Duration
			want string
		}{
			{50 * time.Second, "1 " + minuteWords[loc][0]},
			{time.Minute, "1 " + minuteWords[loc][0]},
			{0, "1 " + minuteWords[loc][0]},
			{61 * time.Second, "2 " + minuteWords[loc][1]},
			{10 * time.Minute, "10 " + minuteWords[loc][1]},
			{9*time.Minute + time.Nanosecond, "10 " + minuteWords[loc][1]},
		} {
			r := Render(Input{Kind: contract.KindTwoFactor, Locale: loc, Code: "1234", TTL: tt.ttl})
			if !strings.Contains(r.Text, " "+tt.want+" ") && !strings.Contains(r.Text, " "+tt.want+".") {
				t.Errorf("%s TTL %v: %q lacks %q", loc, tt.ttl, r.Text, tt.want)
			}
		}
	}
	r := Render(Input{Kind: contract.KindSignup, Code: "1234", TTL: 50 * time.Second})
	if !strings.Contains(r.Text, "It expires in 1 minute.") {
		t.Errorf("singular: %q", r.Text)
	}
	r = Render(Input{Kind: contract.KindSignup, Locale: "en", Code: "1234", TTL: 24 * time.Hour})
	if !strings.Contains(r.Text, "1,440 minutes") {
		t.Errorf("grouped minutes: %q", r.Text)
	}
}

func TestRenderEnglish(t *testing.T) {
	r := Render(Input{Kind: contract.KindSignup, Locale: "en", Code: "123456", TTL: 10 * time.Minute, Channel: contract.ChannelSMS})
	const want = "123456 is your Veriflow code to confirm your sign-up. It expires in 10 minutes. Never share this code with anyone."
	if r.Text != want {
		t.Errorf("signup text\n got %q\nwant %q", r.Text, want)
	}
	if n, gsm := gsm7Length(r.Text); !gsm || n > 160 {
		t.Errorf("signup SMS is %d septets (GSM-7 %v)", n, gsm)
	}
	if r.Subject != "" || r.HTML != "" {
		t.Errorf("SMS has a subject or HTML: %+v", r)
	}

	r = Render(Input{Kind: contract.KindTransaction, Locale: "en-GB", Code: "123456", TTL: 5 * time.Minute,
		Channel:     contract.ChannelWhatsApp,
		Transaction: &contract.Transaction{Amount: "149.9", Currency: "USD", Payee: "ACME S.p.A."}})
	const wantTx = "123456 is your Veriflow code to approve the payment of $149.90 to ACME S.p.A. It expires in 5 minutes. Never share this code with anyone."
	if r.Text != wantTx {
		t.Errorf("transaction text\n got %q\nwant %q", r.Text, wantTx)
	}
	if r.Subject != "" || r.HTML != "" {
		t.Errorf("WhatsApp has a subject or HTML: %+v", r)
	}

	r = Render(Input{Kind: contract.KindTwoFactor, Code: "123456", TTL: 5 * time.Minute})
	if r.Subject != "Your Veriflow verification code" || r.HTML == "" {
		t.Errorf("no channel: subject %q, HTML %d bytes", r.Subject, len(r.HTML))
	}
}

func TestRenderFallbacks(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"unknown locale", Input{Kind: contract.KindTwoFactor, Locale: "ja", Code: "1"}, "1 is your Veriflow code to sign in."},
		{"locale tag", Input{Kind: contract.KindTwoFactor, Locale: "fr-BE", Code: "1"}, "1 est votre code Veriflow pour vous connecter."},
		{"unknown kind", Input{Kind: "other", Locale: "it", Code: "1"}, "1 è il tuo codice di verifica Veriflow."},
		{"transaction without details", Input{Kind: contract.KindTransaction, Locale: "de", Code: "1"}, "1 ist Ihr Veriflow-Bestätigungscode."},
		{"signature without document", Input{Kind: contract.KindSignature, Code: "1"}, "1 is your Veriflow verification code."},
		{"brand", Input{Kind: contract.KindSignup, Locale: "de", Code: "1", Brand: " Acme\nBank "}, "1 ist Ihr Acme Bank-Code zur Bestätigung Ihrer Registrierung."},
	}
	for _, tt := range tests {
		r := Render(tt.in)
		if !strings.HasPrefix(r.Text, tt.want+" ") {
			t.Errorf("%s: %q does not start with %q", tt.name, r.Text, tt.want)
		}
	}
}

func TestUntrustedFields(t *testing.T) {
	const script = `<script>alert("x")</script>`
	in := Input{Kind: contract.KindTransaction, Locale: "it", Code: "482913", TTL: 5 * time.Minute,
		Transaction: &contract.Transaction{Amount: "10", Currency: "EUR", Payee: script}}
	r := Render(in)
	if strings.Contains(r.HTML, "<script") {
		t.Errorf("payee not escaped in HTML:\n%s", r.HTML)
	}
	if !strings.Contains(r.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("escaped payee missing from HTML:\n%s", r.HTML)
	}
	if !strings.Contains(r.Text, script) {
		t.Errorf("plain text should carry the payee as is: %q", r.Text)
	}

	in = Input{Kind: contract.KindSignature, Locale: "en", Code: "482913", TTL: 5 * time.Minute,
		Document: &contract.Document{Title: `"><img src=x onerror=alert(1)>` + "\u2028&"}}
	r = Render(in)
	if strings.Contains(r.HTML, "<img") || !strings.Contains(r.HTML, "&lt;img src=x onerror=alert(1)&gt; &amp;") {
		t.Errorf("title not escaped in HTML:\n%s", r.HTML)
	}

	in = Input{Kind: contract.KindTransaction, Locale: "en", Code: "482913", TTL: 5 * time.Minute,
		Transaction: &contract.Transaction{Amount: "10", Currency: "EUR",
			Payee: "ACME\r\nLtd\x00\t\u202eevil\u200b\ufeff  Corp\x1b[31m\xff"}}
	r = Render(in)
	if !strings.Contains(r.Text, "to ACME Ltd evil Corp [31m\ufffd. ") {
		t.Errorf("payee not cleaned: %q", r.Text)
	}

	long := strings.Repeat("x", 500)
	in.Transaction.Payee = long
	in.Document = &contract.Document{Title: long}
	r = Render(in)
	if !strings.Contains(r.Text, " to "+strings.Repeat("x", maxPayee-1)+"…. ") {
		t.Errorf("payee not clamped to %d: %q", maxPayee, r.Text)
	}
	in.Kind = contract.KindSignature
	r = Render(in)
	if !strings.Contains(r.Text, `"`+strings.Repeat("x", maxTitle-1)+`…"`) {
		t.Errorf("title not clamped to %d: %q", maxTitle, r.Text)
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  \n ", ""},
		{"a\nb", "a b"},
		{"a\u00a0\u00a0b", "a b"},
		{"\u202ea\u200db", "a\u200db"},
		{"abcdef", "abcd…"},
		{"abcd", "abcd"},
		{"abc  def", "abc…"},
	}
	for _, tt := range tests {
		if got := clean(tt.in, 5); got != tt.want {
			t.Errorf("clean(%q, 5) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestSMSLengths logs the transaction SMS of every locale with its length.
func TestSMSLengths(t *testing.T) {
	for _, loc := range Locales() {
		for _, kind := range contract.Kinds() {
			in := sample(kind, loc)
			in.Channel = contract.ChannelSMS
			r := Render(in)
			n, gsm := gsm7Length(r.Text)
			enc := fmt.Sprintf("GSM-7 %3d/160", n)
			if !gsm {
				enc = fmt.Sprintf("UCS-2 %3d/70 ", utf8.RuneCountInString(r.Text))
			}
			t.Logf("%s %-14s %s  %s", loc, kind, enc, r.Text)
		}
	}
}

// gsm7Length returns the number of GSM 03.38 septets of s and whether s
// fits that alphabet at all (otherwise an SMS goes out as UCS-2).
func gsm7Length(s string) (int, bool) {
	const basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	const extension = "\f^{}\\[~]|€"
	n := 0
	for _, r := range s {
		switch {
		case strings.ContainsRune(basic, r):
			n++
		case strings.ContainsRune(extension, r):
			n += 2
		default:
			return n, false
		}
	}
	return n, true
}
