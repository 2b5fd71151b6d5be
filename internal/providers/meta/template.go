package meta

import "strings"

// TemplateDefinition returns the JSON body an operator POSTs to
// https://graph.facebook.com/{APIVersion}/{WHATSAPP_BUSINESS_ACCOUNT_ID}/message_templates
// to create cfg.TemplateName as an AUTHENTICATION template in language,
// once per language Veriflow sends in. language is a Veriflow locale
// (mapped through cfg.LanguageCodes and DefaultLanguageCodes, as Send does)
// or else a Meta language code used as is; "" means en.
//
// The body text is Meta's preset "<CODE> is your verification code." with
// the security recommendation; cfg.CodeExpirationMinutes adds the expiry
// footer. The button is a copy-code OTP button or, when
// cfg.AndroidPackageName and cfg.AndroidSignatureHash are set, a one-tap
// autofill button for that app (declared under supported_apps; devices it
// cannot autofill show the copy-code text instead). Meta stores either
// button as a URL button at index 0, which is why Send's payload is the
// same for both. Validate cfg with New first.
func TemplateDefinition(cfg Config, language string) map[string]any {
	langs := DefaultLanguageCodes()
	for locale, code := range cfg.LanguageCodes {
		langs[strings.ToLower(locale)] = code
	}
	lang := language
	if _, isLocale := langs[strings.ToLower(lang)]; isLocale || !validLanguageCode(lang) {
		lang = languageCode(langs, lang)
	}
	button := map[string]any{
		"type":     "OTP",
		"otp_type": "COPY_CODE",
		"text":     "Copy code",
	}
	if cfg.AndroidPackageName != "" && cfg.AndroidSignatureHash != "" {
		button = map[string]any{
			"type":          "OTP",
			"otp_type":      "ONE_TAP",
			"text":          "Copy code",
			"autofill_text": "Autofill",
			"supported_apps": []any{
				map[string]any{
					"package_name":   cfg.AndroidPackageName,
					"signature_hash": cfg.AndroidSignatureHash,
				},
			},
		}
	}
	components := []any{
		map[string]any{"type": "BODY", "add_security_recommendation": true},
	}
	if cfg.CodeExpirationMinutes > 0 {
		components = append(components, map[string]any{"type": "FOOTER", "code_expiration_minutes": cfg.CodeExpirationMinutes})
	}
	components = append(components, map[string]any{"type": "BUTTONS", "buttons": []any{button}})
	return map[string]any{
		"name":       cfg.TemplateName,
		"language":   lang,
		"category":   "AUTHENTICATION",
		"components": components,
	}
}
