package twiliovoice

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/messages"
)

// TestTwiMLLayout pins the document for an English and an Italian call,
// from the script messages.Render makes.
func TestTwiMLLayout(t *testing.T) {
	const p = `<Pause length="1"/>`
	cases := []struct {
		loc, voice, want string
	}{
		{"en", "", `<Response>` +
			`<Say language="en-US">This is Veriflow. Here is your code to sign in.</Say>` + p +
			`<Say language="en-US">4, 8, 2, 9, 1, 3.</Say>` + p +
			`<Say language="en-US">Once again, your code is:</Say>` + p +
			`<Say language="en-US">4, 8, 2, 9, 1, 3.</Say>` + p +
			`<Say language="en-US">Never share this code with anyone. Goodbye.</Say>` +
			`</Response>`},
		{"it", "Polly.Bianca", `<Response>` +
			`<Say language="it-IT" voice="Polly.Bianca">Messaggio da Veriflow. Ecco il tuo codice per accedere.</Say>` + p +
			`<Say language="it-IT" voice="Polly.Bianca">4, 8, 2, 9, 1, 3.</Say>` + p +
			`<Say language="it-IT" voice="Polly.Bianca">Ripeto, il tuo codice è:</Say>` + p +
			`<Say language="it-IT" voice="Polly.Bianca">4, 8, 2, 9, 1, 3.</Say>` + p +
			`<Say language="it-IT" voice="Polly.Bianca">Non condividerlo con nessuno. Arrivederci.</Say>` +
			`</Response>`},
	}
	for _, c := range cases {
		script := messages.Render(messages.Input{Kind: contract.KindTwoFactor, Locale: c.loc, Code: "482913", Channel: contract.ChannelVoice}).Text
		got, err := TwiML(script, c.loc, c.voice)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.loc, got, c.want)
		}
		if strings.Count(got, ">4, 8, 2, 9, 1, 3.<") != 2 {
			t.Errorf("%s: the code is not said twice, digit by digit", c.loc)
		}
	}
}

// TestTwiMLEscapes: a payee or brand with markup stays text, and the
// document is well-formed XML whose <Say> texts are the script's lines.
func TestTwiMLEscapes(t *testing.T) {
	script := messages.Render(messages.Input{Kind: contract.KindTransaction, Locale: "fr", Code: "1234", Channel: contract.ChannelVoice,
		Brand:       `Bank & "Co" <b>`,
		Transaction: &contract.Transaction{Amount: "10", Currency: "EUR", Payee: `</Say><Play>http://evil.example/x.mp3</Play><Say>`}}).Text
	got, err := TwiML(script, "fr", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "<Play>") || strings.Contains(got, "<b>") || !strings.Contains(got, "Bank &amp; &#34;Co&#34; &lt;b&gt;") {
		t.Fatalf("not escaped: %s", got)
	}
	var doc struct {
		Says []struct {
			Lang string `xml:"language,attr"`
			Text string `xml:",chardata"`
		} `xml:"Say"`
		Pauses []struct{} `xml:"Pause"`
	}
	if err := xml.Unmarshal([]byte(got), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, got)
	}
	lines := strings.Split(script, "\n")
	if len(doc.Says) != len(lines) || len(doc.Pauses) != len(lines)-1 {
		t.Fatalf("%d says, %d pauses for %d lines", len(doc.Says), len(doc.Pauses), len(lines))
	}
	for i, s := range doc.Says {
		if s.Text != lines[i] || s.Lang != "fr-FR" {
			t.Errorf("say %d: %q (%s), want %q", i, s.Text, s.Lang, lines[i])
		}
	}
}

func TestSayLanguage(t *testing.T) {
	for in, want := range map[string]string{"en": "en-US", "it": "it-IT", "es": "es-ES", "de": "de-DE", "fr": "fr-FR",
		"pt": "pt-BR", "pt-PT": "pt-BR", "it_CH": "it-IT", "": "en-US", "ja": "en-US"} {
		if got := SayLanguage(in); got != want {
			t.Errorf("SayLanguage(%q) = %q, want %q", in, got, want)
		}
	}
	for _, loc := range messages.Locales() {
		if _, ok := sayLanguages[loc]; !ok {
			t.Errorf("no <Say> language for locale %s", loc)
		}
	}
}

func TestTwiMLRefusals(t *testing.T) {
	if _, err := TwiML(" \n\n", "en", ""); err == nil {
		t.Error("empty script accepted")
	}
	if _, err := TwiML(strings.Repeat("word ", 900), "en", ""); err == nil {
		t.Error("a TwiML over 4000 characters accepted")
	}
}
