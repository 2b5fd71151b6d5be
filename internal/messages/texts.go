package messages

import "github.com/veriflow/veriflow/internal/contract"

// texts are the words of one locale. Every string is a text/template
// evaluated with a [data] value, so a translator sees whole sentences and
// the placeholders they may use:
//
//	{{.Code}}     the code                 {{.Brand}}  the sender/app name
//	{{.Amount}}   formatted amount         {{.Payee}}  who is paid
//	{{.Title}}    the document title       {{.Minutes}} {{.Unit}}  validity
//
// Rules for translators:
//   - a lead sentence starts with {{.Code}}: phones offer to autofill it;
//   - the text part is lead + " " + expiry + " " + warning; keep it within one
//     SMS (160 GSM-7 characters) for a short payee or title;
//   - en, it, de and fr stay within the GSM-7 alphabet (a test checks it):
//     no ç, ê, â, ô, «», „“ or typographic quotes there. es and pt need
//     accents outside GSM-7 (ó, ã, …), so their SMS are sent as UCS-2;
//   - the payee and the title can end with a period ("ACME S.p.A."): a
//     doubled final period is collapsed, so write the sentence normally.
type texts struct {
	// subject is the e-mail subject; it names the brand.
	subject string
	// lead is the first sentence, per kind.
	lead map[contract.Kind]string
	// generic is the lead for an unknown kind, or for a transaction or a
	// signature whose details are missing.
	generic string
	// expiry says how long the code lasts.
	expiry string
	// warning says never to share the code.
	warning string
	// minute is the {{.Unit}} word: singular (CLDR plural "one") and plural.
	minute [2]string
}

// catalog holds every text of every locale. Its keys are the locales
// returned by Locales.
var catalog = map[string]texts{
	"en": {
		subject: "Your {{.Brand}} verification code",
		lead: map[contract.Kind]string{
			contract.KindSignup:        "{{.Code}} is your {{.Brand}} code to confirm your sign-up.",
			contract.KindTransaction:   "{{.Code}} is your {{.Brand}} code to approve the payment of {{.Amount}} to {{.Payee}}.",
			contract.KindPasswordReset: "{{.Code}} is your {{.Brand}} code to reset your password.",
			contract.KindTwoFactor:     "{{.Code}} is your {{.Brand}} code to sign in.",
			contract.KindSignature:     `{{.Code}} is your {{.Brand}} code to sign "{{.Title}}".`,
		},
		generic: "{{.Code}} is your {{.Brand}} verification code.",
		expiry:  "It expires in {{.Minutes}} {{.Unit}}.",
		warning: "Never share this code with anyone.",
		minute:  [2]string{"minute", "minutes"},
	},
	"it": {
		subject: "Il tuo codice di verifica {{.Brand}}",
		lead: map[contract.Kind]string{
			contract.KindSignup:        "{{.Code}} è il tuo codice {{.Brand}} per confermare la registrazione.",
			contract.KindTransaction:   "{{.Code}} è il tuo codice {{.Brand}} per autorizzare il pagamento di {{.Amount}} a {{.Payee}}.",
			contract.KindPasswordReset: "{{.Code}} è il tuo codice {{.Brand}} per reimpostare la password.",
			contract.KindTwoFactor:     "{{.Code}} è il tuo codice {{.Brand}} per accedere.",
			contract.KindSignature:     `{{.Code}} è il tuo codice {{.Brand}} per firmare "{{.Title}}".`,
		},
		generic: "{{.Code}} è il tuo codice di verifica {{.Brand}}.",
		expiry:  "Scade tra {{.Minutes}} {{.Unit}}.",
		warning: "Non condividerlo con nessuno.",
		minute:  [2]string{"minuto", "minuti"},
	},
	"es": {
		subject: "Tu código de verificación de {{.Brand}}",
		lead: map[contract.Kind]string{
			contract.KindSignup:        "{{.Code}} es tu código de {{.Brand}} para confirmar tu registro.",
			contract.KindTransaction:   "{{.Code}} es tu código de {{.Brand}} para autorizar el pago de {{.Amount}} a {{.Payee}}.",
			contract.KindPasswordReset: "{{.Code}} es tu código de {{.Brand}} para restablecer tu contraseña.",
			contract.KindTwoFactor:     "{{.Code}} es tu código de {{.Brand}} para iniciar sesión.",
			contract.KindSignature:     `{{.Code}} es tu código de {{.Brand}} para firmar "{{.Title}}".`,
		},
		generic: "{{.Code}} es tu código de verificación de {{.Brand}}.",
		expiry:  "Expira en {{.Minutes}} {{.Unit}}.",
		warning: "No lo compartas con nadie.",
		minute:  [2]string{"minuto", "minutos"},
	},
	"de": {
		subject: "Ihr {{.Brand}}-Bestätigungscode",
		lead: map[contract.Kind]string{
			contract.KindSignup:        "{{.Code}} ist Ihr {{.Brand}}-Code zur Bestätigung Ihrer Registrierung.",
			contract.KindTransaction:   "{{.Code}} ist Ihr {{.Brand}}-Code zur Freigabe der Zahlung von {{.Amount}} an {{.Payee}}.",
			contract.KindPasswordReset: "{{.Code}} ist Ihr {{.Brand}}-Code zum Zurücksetzen Ihres Passworts.",
			contract.KindTwoFactor:     "{{.Code}} ist Ihr {{.Brand}}-Code für die Anmeldung.",
			contract.KindSignature:     `{{.Code}} ist Ihr {{.Brand}}-Code zum Unterschreiben von "{{.Title}}".`,
		},
		generic: "{{.Code}} ist Ihr {{.Brand}}-Bestätigungscode.",
		expiry:  "Er ist {{.Minutes}} {{.Unit}} gültig.",
		warning: "Geben Sie ihn niemals weiter.",
		minute:  [2]string{"Minute", "Minuten"},
	},
	"fr": {
		subject: "Votre code de vérification {{.Brand}}",
		lead: map[contract.Kind]string{
			contract.KindSignup:        "{{.Code}} est votre code {{.Brand}} pour confirmer votre inscription.",
			contract.KindTransaction:   "{{.Code}} est votre code {{.Brand}} pour valider le paiement de {{.Amount}} à {{.Payee}}.",
			contract.KindPasswordReset: "{{.Code}} est votre code {{.Brand}} pour réinitialiser votre mot de passe.",
			contract.KindTwoFactor:     "{{.Code}} est votre code {{.Brand}} pour vous connecter.",
			contract.KindSignature:     `{{.Code}} est votre code {{.Brand}} pour signer "{{.Title}}".`,
		},
		generic: "{{.Code}} est votre code de vérification {{.Brand}}.",
		expiry:  "Il expire dans {{.Minutes}} {{.Unit}}.",
		warning: "Ne le partagez avec personne.",
		minute:  [2]string{"minute", "minutes"},
	},
	// pt follows Brazilian usage (senha, compartilhe), like CLDR's "pt";
	// the wording otherwise reads naturally in Portugal too.
	"pt": {
		subject: "Seu código de verificação {{.Brand}}",
		lead: map[contract.Kind]string{
			contract.KindSignup:        "{{.Code}} é seu código {{.Brand}} para confirmar sua inscrição.",
			contract.KindTransaction:   "{{.Code}} é seu código {{.Brand}} para autorizar o pagamento de {{.Amount}} a {{.Payee}}.",
			contract.KindPasswordReset: "{{.Code}} é seu código {{.Brand}} para redefinir sua senha.",
			contract.KindTwoFactor:     "{{.Code}} é seu código {{.Brand}} para entrar.",
			contract.KindSignature:     `{{.Code}} é seu código {{.Brand}} para assinar "{{.Title}}".`,
		},
		generic: "{{.Code}} é seu código de verificação {{.Brand}}.",
		expiry:  "Expira em {{.Minutes}} {{.Unit}}.",
		warning: "Não compartilhe com ninguém.",
		minute:  [2]string{"minuto", "minutos"},
	},
}

// emailHTML is the HTML part of an e-mail, for every locale. It repeats
// the sentences of the text part and shows the code large. Styles are
// inline because mail clients drop <style> blocks.
const emailHTML = `<!DOCTYPE html>
<html lang="{{.Lang}}" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{{.Subject}}</title>
</head>
<body style="margin:0;padding:24px 12px;background-color:#f4f4f5;color:#18181b;font-family:Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;">
<div role="article" aria-label="{{.Subject}}" style="max-width:480px;margin:0 auto;padding:24px;background-color:#ffffff;border-radius:8px;">
<p style="margin:0 0 16px;">{{.Lead}}</p>
<p style="margin:0 0 16px;padding:12px;background-color:#f4f4f5;border-radius:6px;text-align:center;font-family:'Courier New',Courier,monospace;font-size:32px;font-weight:bold;letter-spacing:6px;color:#18181b;">{{.Code}}</p>
<p style="margin:0 0 8px;">{{.Expiry}}</p>
<p style="margin:0;font-weight:bold;">{{.Warning}}</p>
</div>
</body>
</html>
`
