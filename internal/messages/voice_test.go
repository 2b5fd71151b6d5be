package messages

import (
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

// voiceInput is a voice message of kind in loc.
func voiceInput(kind contract.Kind, loc string) Input {
	in := sample(kind, loc)
	in.Channel = contract.ChannelVoice
	return in
}

// TestVoiceScriptLayout pins the exact spoken script in English and
// Italian: lead, code, again, code, closing, one per line.
func TestVoiceScriptLayout(t *testing.T) {
	cases := []struct {
		kind contract.Kind
		loc  string
		want string
	}{
		{contract.KindTwoFactor, "en", "This is Veriflow. Here is your code to sign in.\n" +
			"4, 8, 2, 9, 1, 3.\nOnce again, your code is:\n4, 8, 2, 9, 1, 3.\nNever share this code with anyone. Goodbye."},
		{contract.KindTransaction, "en", "This is Veriflow. Here is your code to approve the payment of €1,500.00 to ACME S.p.A.\n" +
			"4, 8, 2, 9, 1, 3.\nOnce again, your code is:\n4, 8, 2, 9, 1, 3.\nNever share this code with anyone. Goodbye."},
		{contract.KindTwoFactor, "it", "Messaggio da Veriflow. Ecco il tuo codice per accedere.\n" +
			"4, 8, 2, 9, 1, 3.\nRipeto, il tuo codice è:\n4, 8, 2, 9, 1, 3.\nNon condividerlo con nessuno. Arrivederci."},
		{contract.KindSignature, "it", "Messaggio da Veriflow. Ecco il tuo codice per firmare \"Contract 2026-001\".\n" +
			"4, 8, 2, 9, 1, 3.\nRipeto, il tuo codice è:\n4, 8, 2, 9, 1, 3.\nNon condividerlo con nessuno. Arrivederci."},
	}
	for _, c := range cases {
		t.Run(c.loc+"/"+string(c.kind), func(t *testing.T) {
			r := Render(voiceInput(c.kind, c.loc))
			if r.Text != c.want {
				t.Errorf("script\n%s\nwant\n%s", r.Text, c.want)
			}
			if r.Subject != "" || r.HTML != "" {
				t.Errorf("voice has subject %q / html %q", r.Subject, r.HTML)
			}
		})
	}
}

// TestVoiceAllKindsAndLocales: every locale and kind says the brand and
// the purpose, spells the code twice and never says it as one number.
func TestVoiceAllKindsAndLocales(t *testing.T) {
	for _, loc := range Locales() {
		for _, kind := range contract.Kinds() {
			t.Run(loc+"/"+string(kind), func(t *testing.T) {
				in := voiceInput(kind, loc)
				in.Brand = "Acme Bank"
				text := Render(in).Text
				lines := strings.Split(text, "\n")
				if len(lines) != 5 {
					t.Fatalf("%d lines: %q", len(lines), text)
				}
				if lines[1] != "4, 8, 2, 9, 1, 3." || lines[3] != lines[1] {
					t.Errorf("code lines %q and %q", lines[1], lines[3])
				}
				if strings.Contains(text, "482913") {
					t.Errorf("the code is said as a number: %q", text)
				}
				if !strings.Contains(lines[0], "Acme Bank") || !strings.Contains(lines[4], dontShare[loc]) {
					t.Errorf("brand or warning missing: %q", text)
				}
				switch kind {
				case contract.KindTransaction:
					if !strings.Contains(lines[0], "ACME S.p.A.") || !strings.Contains(lines[0], plainSpaces(FormatAmount("1500", "EUR", loc))) {
						t.Errorf("payment missing: %q", lines[0])
					}
				case contract.KindSignature:
					if !strings.Contains(lines[0], "Contract 2026-001") {
						t.Errorf("title missing: %q", lines[0])
					}
				}
				for _, l := range lines {
					if strings.TrimSpace(l) == "" || strings.ContainsAny(l, "\u00a0\u202f{}") {
						t.Errorf("bad line %q", l)
					}
				}
			})
		}
	}
}

// TestVoiceUntrustedFieldsStayOnOneLine: a payee with line breaks cannot
// add or split spoken segments.
func TestVoiceUntrustedFieldsStayOnOneLine(t *testing.T) {
	in := voiceInput(contract.KindTransaction, "en")
	in.Transaction.Payee = "Evil\nCorp\r\n4, 4, 4."
	in.Brand = "Bad\nBrand"
	if n := strings.Count(Render(in).Text, "\n"); n != 4 {
		t.Fatalf("%d line breaks in %q", n, Render(in).Text)
	}
}

// TestVoiceCatalogComplete: the voice texts cover the locales and kinds
// of the written texts, and no voice text holds the code itself.
func TestVoiceCatalogComplete(t *testing.T) {
	if len(voiceCatalog) != len(catalog) {
		t.Fatalf("%d voice locales, %d text locales", len(voiceCatalog), len(catalog))
	}
	for loc := range catalog {
		vt, ok := voiceCatalog[loc]
		if !ok {
			t.Errorf("no voice texts for %s", loc)
			continue
		}
		for _, kind := range contract.Kinds() {
			if !strings.Contains(vt.lead[kind], "{{.Brand}}") {
				t.Errorf("%s/%s does not name the brand: %q", loc, kind, vt.lead[kind])
			}
		}
		for _, s := range append([]string{vt.generic, vt.again, vt.closing}, vt.lead[contract.KindSignup]) {
			if strings.Contains(s, "{{.Code}}") || s == "" {
				t.Errorf("%s: voice text %q", loc, s)
			}
		}
	}
	// The TTL plays no part in the script.
	a, b := voiceInput(contract.KindSignup, "fr"), voiceInput(contract.KindSignup, "fr")
	b.TTL = time.Hour
	if Render(a) != Render(b) {
		t.Error("the TTL changes the script")
	}
}
