package messages

import (
	"errors"
	"strings"
	"text/template"

	"github.com/veriflow/veriflow/internal/contract"
)

// voiceTexts are the spoken words of one locale, for the voice channel.
// Like texts, every string is a text/template evaluated with a [data]
// value; the code itself is never in them: the script reads it digit by
// digit on lines of its own.
type voiceTexts struct {
	// lead names the brand and what the code is for, per kind.
	lead map[contract.Kind]string
	// generic is the lead for an unknown kind, or for a transaction or a
	// signature whose details are missing.
	generic string
	// again introduces the second reading of the code.
	again string
	// closing says never to share the code, and goodbye.
	closing string
}

// voiceCatalog holds the spoken texts of every locale; its keys are those
// of catalog (a test checks it).
var voiceCatalog = map[string]voiceTexts{
	"en": {
		lead: map[contract.Kind]string{
			contract.KindSignup:        "This is {{.Brand}}. Here is your code to confirm your sign-up.",
			contract.KindTransaction:   "This is {{.Brand}}. Here is your code to approve the payment of {{.Amount}} to {{.Payee}}.",
			contract.KindPasswordReset: "This is {{.Brand}}. Here is your code to reset your password.",
			contract.KindTwoFactor:     "This is {{.Brand}}. Here is your code to sign in.",
			contract.KindSignature:     `This is {{.Brand}}. Here is your code to sign "{{.Title}}".`,
		},
		generic: "This is {{.Brand}}. Here is your verification code.",
		again:   "Once again, your code is:",
		closing: "Never share this code with anyone. Goodbye.",
	},
	"it": {
		lead: map[contract.Kind]string{
			contract.KindSignup:        "Messaggio da {{.Brand}}. Ecco il tuo codice per confermare la registrazione.",
			contract.KindTransaction:   "Messaggio da {{.Brand}}. Ecco il tuo codice per autorizzare il pagamento di {{.Amount}} a {{.Payee}}.",
			contract.KindPasswordReset: "Messaggio da {{.Brand}}. Ecco il tuo codice per reimpostare la password.",
			contract.KindTwoFactor:     "Messaggio da {{.Brand}}. Ecco il tuo codice per accedere.",
			contract.KindSignature:     `Messaggio da {{.Brand}}. Ecco il tuo codice per firmare "{{.Title}}".`,
		},
		generic: "Messaggio da {{.Brand}}. Ecco il tuo codice di verifica.",
		again:   "Ripeto, il tuo codice è:",
		closing: "Non condividerlo con nessuno. Arrivederci.",
	},
	"es": {
		lead: map[contract.Kind]string{
			contract.KindSignup:        "Mensaje de {{.Brand}}. Este es tu código para confirmar tu registro.",
			contract.KindTransaction:   "Mensaje de {{.Brand}}. Este es tu código para autorizar el pago de {{.Amount}} a {{.Payee}}.",
			contract.KindPasswordReset: "Mensaje de {{.Brand}}. Este es tu código para restablecer tu contraseña.",
			contract.KindTwoFactor:     "Mensaje de {{.Brand}}. Este es tu código para iniciar sesión.",
			contract.KindSignature:     `Mensaje de {{.Brand}}. Este es tu código para firmar "{{.Title}}".`,
		},
		generic: "Mensaje de {{.Brand}}. Este es tu código de verificación.",
		again:   "Repito, tu código es:",
		closing: "No lo compartas con nadie. Adiós.",
	},
	"de": {
		lead: map[contract.Kind]string{
			contract.KindSignup:        "Hier ist {{.Brand}}. Ihr Code zur Bestätigung Ihrer Registrierung lautet:",
			contract.KindTransaction:   "Hier ist {{.Brand}}. Ihr Code zur Freigabe der Zahlung von {{.Amount}} an {{.Payee}} lautet:",
			contract.KindPasswordReset: "Hier ist {{.Brand}}. Ihr Code zum Zurücksetzen Ihres Passworts lautet:",
			contract.KindTwoFactor:     "Hier ist {{.Brand}}. Ihr Code für die Anmeldung lautet:",
			contract.KindSignature:     `Hier ist {{.Brand}}. Ihr Code zum Unterschreiben von "{{.Title}}" lautet:`,
		},
		generic: "Hier ist {{.Brand}}. Ihr Bestätigungscode lautet:",
		again:   "Noch einmal, Ihr Code lautet:",
		closing: "Geben Sie ihn niemals weiter. Auf Wiederhören.",
	},
	"fr": {
		lead: map[contract.Kind]string{
			contract.KindSignup:        "Message de {{.Brand}}. Voici votre code pour confirmer votre inscription.",
			contract.KindTransaction:   "Message de {{.Brand}}. Voici votre code pour valider le paiement de {{.Amount}} à {{.Payee}}.",
			contract.KindPasswordReset: "Message de {{.Brand}}. Voici votre code pour réinitialiser votre mot de passe.",
			contract.KindTwoFactor:     "Message de {{.Brand}}. Voici votre code pour vous connecter.",
			contract.KindSignature:     `Message de {{.Brand}}. Voici votre code pour signer "{{.Title}}".`,
		},
		generic: "Message de {{.Brand}}. Voici votre code de vérification.",
		again:   "Je répète, votre code est :",
		closing: "Ne le partagez avec personne. Au revoir.",
	},
	"pt": {
		lead: map[contract.Kind]string{
			contract.KindSignup:        "Mensagem de {{.Brand}}. Este é seu código para confirmar sua inscrição.",
			contract.KindTransaction:   "Mensagem de {{.Brand}}. Este é seu código para autorizar o pagamento de {{.Amount}} a {{.Payee}}.",
			contract.KindPasswordReset: "Mensagem de {{.Brand}}. Este é seu código para redefinir sua senha.",
			contract.KindTwoFactor:     "Mensagem de {{.Brand}}. Este é seu código para entrar.",
			contract.KindSignature:     `Mensagem de {{.Brand}}. Este é seu código para assinar "{{.Title}}".`,
		},
		generic: "Mensagem de {{.Brand}}. Este é seu código de verificação.",
		again:   "Repetindo, seu código é:",
		closing: "Não compartilhe com ninguém. Até logo.",
	},
}

// compiledVoice holds the templates of voiceCatalog, one set per locale,
// named after the kinds plus "generic", "again" and "closing". It is
// derived once from voiceCatalog and never changes.
var compiledVoice = compileVoice(voiceCatalog)

// compileVoice parses the spoken texts of every locale; it panics on a
// malformed template, which the tests would catch first.
func compileVoice(c map[string]voiceTexts) map[string]*template.Template {
	out := make(map[string]*template.Template, len(c))
	for loc, t := range c {
		set := template.New(loc)
		add := func(name, text string) { template.Must(set.New(name).Parse(text)) }
		for kind, text := range t.lead {
			add(string(kind), text)
		}
		add("generic", t.generic)
		add("again", t.again)
		add("closing", t.closing)
		out[loc] = set
	}
	return out
}

// renderVoice renders the spoken script of a voice call: Text holds one
// spoken segment per line (a provider says each line and pauses between
// lines): the lead (brand and purpose), the code digit by digit, the
// "again" line, the code once more, and the closing. lead names the
// template of the first line ("generic" or a kind), as render chose it.
func renderVoice(loc, lead string, d data) (Rendered, error) {
	tpl, ok := compiledVoice[loc]
	if !ok {
		return Rendered{}, errors.New("messages: no voice texts for " + loc)
	}
	var lines [3]string
	for i, name := range []string{lead, "again", "closing"} {
		s, err := execute(tpl, name, d)
		if err != nil {
			return Rendered{}, err
		}
		lines[i] = plainSpaces(tidy(s))
	}
	code := spell(d.Code)
	return Rendered{Text: strings.Join([]string{lines[0], code, lines[1], code, lines[2]}, "\n")}, nil
}

// spell spaces out code for speech, one character at a time with a comma
// between them ("4, 8, 2, 9, 1, 3."), so that a voice reads digits, not a
// number, and pauses between them.
func spell(code string) string {
	chars := make([]string, 0, len(code))
	for _, r := range code {
		chars = append(chars, string(r))
	}
	return strings.Join(chars, ", ") + "."
}
