package meta

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ButtonType is the OTP button of an authentication template.
type ButtonType string

// The OTP buttons Meta defines. ButtonTypes lists them.
const (
	// ButtonCopyCode copies the code to the clipboard (every device).
	ButtonCopyCode ButtonType = "copy_code"
	// ButtonOneTap opens the Android app named in the template and hands it
	// the code; other devices show the copy-code button.
	ButtonOneTap ButtonType = "one_tap"
	// ButtonZeroTap broadcasts the code to the Android app without a tap;
	// where Meta's eligibility checks fail it falls back to one-tap, then
	// copy code. It needs Meta's zero-tap terms accepted.
	ButtonZeroTap ButtonType = "zero_tap"
)

// ButtonTypes returns every ButtonType, in the order of the docs.
func ButtonTypes() []ButtonType { return []ButtonType{ButtonCopyCode, ButtonOneTap, ButtonZeroTap} }

// Valid reports whether b is one of ButtonTypes.
func (b ButtonType) Valid() bool { return slices.Contains(ButtonTypes(), b) }

// needsApp reports whether b names the Android app that receives the code.
func (b ButtonType) needsApp() bool { return b == ButtonOneTap || b == ButtonZeroTap }

// otpType is b as Meta's otp_type (COPY_CODE, ONE_TAP, ZERO_TAP).
func (b ButtonType) otpType() string { return strings.ToUpper(string(b)) }

// Meta's limits of an authentication template.
const (
	// MinMessageSendTTLSeconds and MaxMessageSendTTLSeconds bound an
	// authentication template's message_send_ttl_seconds (30 s to 15 min).
	MinMessageSendTTLSeconds = 30
	MaxMessageSendTTLSeconds = 900
	// MaxCodeExpirationMinutes bounds the footer's code_expiration_minutes
	// (1 to 90).
	MaxCodeExpirationMinutes = 90
)

// CategoryAuthentication is the category of Veriflow's template.
const CategoryAuthentication = "AUTHENTICATION"

// Template is an authentication template in one language: the body of
// POST /{WABA_ID}/message_templates. Meta fixes the text ("<code> is your
// verification code."); a template only chooses the security
// recommendation, the expiry footer, the OTP button and the time-to-live.
type Template struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	Category string `json:"category"`
	// MessageSendTTLSeconds is how long Meta tries to deliver a message of
	// the template (30 to 900); 0 leaves Meta's default (10 minutes).
	MessageSendTTLSeconds int                 `json:"message_send_ttl_seconds,omitempty"`
	Components            []TemplateComponent `json:"components"`
}

// TemplateComponent is the BODY, FOOTER or BUTTONS component of an
// authentication template.
type TemplateComponent struct {
	Type string `json:"type"`
	// AddSecurityRecommendation (BODY) appends "For your security, do not
	// share this code."
	AddSecurityRecommendation *bool `json:"add_security_recommendation,omitempty"`
	// CodeExpirationMinutes (FOOTER): "This code expires in N minutes."
	CodeExpirationMinutes int `json:"code_expiration_minutes,omitempty"`
	// Buttons (BUTTONS): the one OTP button.
	Buttons []OTPButton `json:"buttons,omitempty"`
}

// OTPButton is the OTP button of an authentication template. Its text and
// autofill_text are left out so that Meta shows its own labels in the
// template's language.
type OTPButton struct {
	Type                 string         `json:"type"`
	OTPType              string         `json:"otp_type"`
	ZeroTapTermsAccepted bool           `json:"zero_tap_terms_accepted,omitempty"`
	SupportedApps        []SupportedApp `json:"supported_apps,omitempty"`
}

// SupportedApp is the Android app a one-tap or zero-tap button hands the
// code to.
type SupportedApp struct {
	PackageName   string `json:"package_name"`
	SignatureHash string `json:"signature_hash"`
}

// Button returns the template's button type: cfg.TemplateButton, or when
// it is empty one_tap if an Android app is configured, else copy_code.
func (c Config) Button() ButtonType {
	switch {
	case c.TemplateButton != "":
		return c.TemplateButton
	case c.AndroidPackageName != "" && c.AndroidSignatureHash != "":
		return ButtonOneTap
	default:
		return ButtonCopyCode
	}
}

// ValidateTemplate reports the problems of c as a template configuration:
// the name, the languages, the button and its Android app, the footer and
// the time-to-live. It never quotes the access token.
func (c Config) ValidateTemplate() error {
	var errs []error
	if !validTemplateName(c.TemplateName) {
		errs = append(errs, fmt.Errorf("TemplateName (META_TEMPLATE_NAME) %q must be lowercase letters, digits and underscores", c.TemplateName))
	}
	for locale, code := range c.LanguageCodes {
		if !validLanguageCode(code) {
			errs = append(errs, fmt.Errorf("LanguageCodes[%q] = %q is not a Meta language code", locale, code))
		}
	}
	b := c.Button()
	if !b.Valid() {
		errs = append(errs, fmt.Errorf("TemplateButton (META_TEMPLATE_BUTTON) %q is not one of %v", b, ButtonTypes()))
	}
	if b.needsApp() {
		if !validAndroidPackage(c.AndroidPackageName) {
			errs = append(errs, fmt.Errorf("a %s button needs AndroidPackageName (META_ANDROID_PACKAGE), an Android package name, not %q", b, c.AndroidPackageName))
		}
		if !validSignatureHash(c.AndroidSignatureHash) {
			errs = append(errs, fmt.Errorf("a %s button needs AndroidSignatureHash (META_ANDROID_SIGNATURE_HASH), the 11-character app signature hash", b))
		}
	}
	if b == ButtonZeroTap && !c.ZeroTapTermsAccepted {
		errs = append(errs, errors.New("a zero_tap button needs Meta's zero-tap terms accepted (ZeroTapTermsAccepted, META_ZERO_TAP_TERMS_ACCEPTED=true)"))
	}
	if c.CodeExpirationMinutes < 0 || c.CodeExpirationMinutes > MaxCodeExpirationMinutes {
		errs = append(errs, fmt.Errorf("CodeExpirationMinutes %d is not within 0 to %d", c.CodeExpirationMinutes, MaxCodeExpirationMinutes))
	}
	if t := c.MessageSendTTLSeconds; t != 0 && (t < MinMessageSendTTLSeconds || t > MaxMessageSendTTLSeconds) {
		errs = append(errs, fmt.Errorf("MessageSendTTLSeconds %d is not within %d to %d", t, MinMessageSendTTLSeconds, MaxMessageSendTTLSeconds))
	}
	if len(errs) > 0 {
		return fmt.Errorf("meta: invalid template config: %w", errors.Join(errs...))
	}
	return nil
}

// templateLanguages merges cfg.LanguageCodes over DefaultLanguageCodes.
func templateLanguages(cfg Config) map[string]string {
	langs := DefaultLanguageCodes()
	for locale, code := range cfg.LanguageCodes {
		langs[strings.ToLower(locale)] = code
	}
	return langs
}

// TemplateLanguages returns the Meta language codes Send uses (the values
// of DefaultLanguageCodes overridden by cfg.LanguageCodes), each once,
// sorted: the languages the template must exist in.
func TemplateLanguages(cfg Config) []string {
	var out []string
	for _, code := range templateLanguages(cfg) {
		if !slices.Contains(out, code) {
			out = append(out, code)
		}
	}
	slices.Sort(out)
	return out
}

// TemplateDefinition returns the authentication template cfg.TemplateName
// in language, as Meta defines it: the fixed body with the security
// recommendation unless cfg.NoSecurityRecommendation, the expiry footer
// when cfg.CodeExpirationMinutes > 0, the button of cfg.Button() (one-tap
// and zero-tap name the app of cfg.AndroidPackageName and
// cfg.AndroidSignatureHash under supported_apps; zero-tap carries
// zero_tap_terms_accepted) and cfg.MessageSendTTLSeconds. language is a
// Veriflow locale (mapped as Send maps it) or else a Meta language code used
// as is; "" means en. Meta stores every OTP button as the URL button at
// index 0 that Send fills in, so the send payload is the same for all
// three. Check cfg with ValidateTemplate first.
func TemplateDefinition(cfg Config, language string) Template {
	langs := templateLanguages(cfg)
	lang := language
	if _, isLocale := langs[strings.ToLower(lang)]; isLocale || !validLanguageCode(lang) {
		lang = languageCode(langs, lang)
	}
	b := cfg.Button()
	button := OTPButton{Type: "OTP", OTPType: b.otpType()}
	if b.needsApp() {
		button.SupportedApps = []SupportedApp{{PackageName: cfg.AndroidPackageName, SignatureHash: cfg.AndroidSignatureHash}}
	}
	if b == ButtonZeroTap {
		button.ZeroTapTermsAccepted = cfg.ZeroTapTermsAccepted
	}
	security := !cfg.NoSecurityRecommendation
	components := []TemplateComponent{{Type: "BODY", AddSecurityRecommendation: &security}}
	if cfg.CodeExpirationMinutes > 0 {
		components = append(components, TemplateComponent{Type: "FOOTER", CodeExpirationMinutes: cfg.CodeExpirationMinutes})
	}
	components = append(components, TemplateComponent{Type: "BUTTONS", Buttons: []OTPButton{button}})
	return Template{
		Name:                  cfg.TemplateName,
		Language:              lang,
		Category:              CategoryAuthentication,
		MessageSendTTLSeconds: cfg.MessageSendTTLSeconds,
		Components:            components,
	}
}

// Definition is what Veriflow decides about a template, the part that sync
// compares: Meta's answers add texts and examples around it.
type Definition struct {
	SecurityRecommendation bool
	CodeExpirationMinutes  int // 0: no footer
	Button                 ButtonType
	Apps                   []SupportedApp // sorted
	MessageSendTTLSeconds  int            // 0: Meta's default
}

// Definition returns what t decides.
func (t Template) Definition() Definition {
	d := Definition{MessageSendTTLSeconds: t.MessageSendTTLSeconds}
	for _, c := range t.Components {
		switch strings.ToUpper(c.Type) {
		case "BODY":
			d.SecurityRecommendation = c.AddSecurityRecommendation != nil && *c.AddSecurityRecommendation
		case "FOOTER":
			d.CodeExpirationMinutes = c.CodeExpirationMinutes
		case "BUTTONS":
			for _, b := range c.Buttons {
				d.Button = ButtonType(strings.ToLower(b.OTPType))
				d.Apps = append(d.Apps, b.SupportedApps...)
			}
		}
	}
	sortApps(d.Apps)
	return d
}

func sortApps(apps []SupportedApp) {
	slices.SortFunc(apps, func(a, b SupportedApp) int {
		return strings.Compare(a.PackageName+"\x00"+a.SignatureHash, b.PackageName+"\x00"+b.SignatureHash)
	})
}

// Diff lists how got differs from want ("button: copy_code, want
// one_tap"); nil when they are the same.
func (want Definition) Diff(got Definition) []string {
	var out []string
	if got.SecurityRecommendation != want.SecurityRecommendation {
		out = append(out, fmt.Sprintf("security recommendation: %t, want %t", got.SecurityRecommendation, want.SecurityRecommendation))
	}
	if got.CodeExpirationMinutes != want.CodeExpirationMinutes {
		out = append(out, fmt.Sprintf("code_expiration_minutes: %d, want %d", got.CodeExpirationMinutes, want.CodeExpirationMinutes))
	}
	if got.Button != want.Button {
		out = append(out, fmt.Sprintf("button: %s, want %s", got.Button, want.Button))
	}
	if !slices.Equal(got.Apps, want.Apps) {
		out = append(out, fmt.Sprintf("supported_apps: %s, want %s", appList(got.Apps), appList(want.Apps)))
	}
	if got.MessageSendTTLSeconds != want.MessageSendTTLSeconds {
		out = append(out, fmt.Sprintf("message_send_ttl_seconds: %d, want %d", got.MessageSendTTLSeconds, want.MessageSendTTLSeconds))
	}
	return out
}

// String describes d on one line.
func (d Definition) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "button %s", d.Button)
	if len(d.Apps) > 0 {
		b.WriteString(" for " + appList(d.Apps))
	}
	if d.SecurityRecommendation {
		b.WriteString(", security recommendation")
	}
	if d.CodeExpirationMinutes > 0 {
		fmt.Fprintf(&b, ", footer %d min", d.CodeExpirationMinutes)
	} else {
		b.WriteString(", no footer")
	}
	if d.MessageSendTTLSeconds > 0 {
		fmt.Fprintf(&b, ", ttl %d s", d.MessageSendTTLSeconds)
	} else {
		b.WriteString(", ttl Meta's default")
	}
	return b.String()
}

func appList(apps []SupportedApp) string {
	if len(apps) == 0 {
		return "none"
	}
	s := make([]string, len(apps))
	for i, a := range apps {
		s[i] = a.PackageName + "#" + a.SignatureHash
	}
	return strings.Join(s, ",")
}

// ClampMessageSendTTL brings seconds within Meta's range for an
// authentication template's time-to-live (30 to 900) and reports whether
// it had to.
func ClampMessageSendTTL(seconds int) (int, bool) {
	switch {
	case seconds < MinMessageSendTTLSeconds:
		return MinMessageSendTTLSeconds, true
	case seconds > MaxMessageSendTTLSeconds:
		return MaxMessageSendTTLSeconds, true
	}
	return seconds, false
}
