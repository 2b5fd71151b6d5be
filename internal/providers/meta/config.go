package meta

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// Config configures the WhatsApp Cloud API adapter.
type Config struct {
	// PhoneNumberID is the WhatsApp business phone number id (digits).
	PhoneNumberID string
	// AccessToken is the system user token, sent as a Bearer token.
	AccessToken string
	// APIVersion is the Graph API version; "" means DefaultAPIVersion.
	APIVersion string
	// BaseURL is the Graph API origin; "" means DefaultBaseURL. Tests point
	// it at a mock.
	BaseURL string
	// TemplateName is an approved AUTHENTICATION template with a copy-code
	// (or one-tap) button, in every language of LanguageCodes that is used.
	TemplateName string
	// LanguageCodes maps a Veriflow locale (m.Locale: en, it, ...) to the
	// template's Meta language code. Entries override DefaultLanguageCodes;
	// a locale found in neither uses the code of "en".
	LanguageCodes map[string]string
	// AndroidPackageName and AndroidSignatureHash name the Android app of a
	// one-tap or zero-tap template (META_ANDROID_PACKAGE,
	// META_ANDROID_SIGNATURE_HASH); both set, they make one_tap the default
	// TemplateButton. They do not change the send payload: the button is
	// configured on the template. New validates them.
	AndroidPackageName   string
	AndroidSignatureHash string

	// The template settings below are used by TemplateDefinition and the
	// template commands only (ValidateTemplate checks them).

	// WABAID is the WhatsApp Business Account that owns the template
	// (META_WABA_ID).
	WABAID string
	// TemplateButton is the template's OTP button (META_TEMPLATE_BUTTON);
	// "" means one_tap when the Android app is set, copy_code otherwise.
	TemplateButton ButtonType
	// ZeroTapTermsAccepted says the business accepted Meta's zero-tap terms
	// (META_ZERO_TAP_TERMS_ACCEPTED=true); a zero_tap button needs it.
	ZeroTapTermsAccepted bool
	// NoSecurityRecommendation leaves "For your security, do not share this
	// code." out of the body (META_TEMPLATE_SECURITY_RECOMMENDATION=false).
	NoSecurityRecommendation bool
	// CodeExpirationMinutes, 1 to 90, adds the "This code expires in N
	// minutes" footer to TemplateDefinition; 0 leaves it out.
	CodeExpirationMinutes int
	// MessageSendTTLSeconds, 30 to 900, is the template's time-to-live:
	// how long Meta keeps trying to deliver a message; 0 leaves Meta's
	// default (10 minutes).
	MessageSendTTLSeconds int

	// AppSecret verifies X-Hub-Signature-256 on webhooks (VerifySignature).
	AppSecret string
	// VerifyToken answers the webhook's GET challenge (Challenge).
	VerifyToken string
	// HTTPClient sends the requests; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Log receives operator alerts (missing template, expired token, ...);
	// nil discards them.
	Log *slog.Logger
}

// DefaultLanguageCodes returns the default locale → Meta template language
// code mapping: en→en_US, it→it, es→es, de→de, fr→fr, pt→pt_BR.
func DefaultLanguageCodes() map[string]string {
	return map[string]string{
		"en": "en_US",
		"it": "it",
		"es": "es",
		"de": "de",
		"fr": "fr",
		"pt": "pt_BR",
	}
}

// withDefaults fills in APIVersion and BaseURL.
func (c Config) withDefaults() Config {
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	return c
}

// Validate reports the problems of c as a sender configuration (after
// filling in the defaults of APIVersion and BaseURL). It never quotes the
// access token.
func (c Config) Validate() error {
	cfg := c.withDefaults()
	var errs []error
	if !isDigits(cfg.PhoneNumberID) {
		errs = append(errs, errors.New("PhoneNumberID must be the numeric phone number id"))
	}
	if strings.TrimSpace(cfg.AccessToken) == "" || strings.ContainsAny(cfg.AccessToken, " \t\r\n") {
		errs = append(errs, errors.New("AccessToken is required and must not contain white space"))
	}
	if !validAPIVersion(cfg.APIVersion) {
		errs = append(errs, fmt.Errorf("APIVersion %q is not like v23.0", cfg.APIVersion))
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.RawQuery != "" || base.Fragment != "" {
		errs = append(errs, fmt.Errorf("BaseURL %q is not an http(s) origin", cfg.BaseURL))
	}
	if !validTemplateName(cfg.TemplateName) {
		errs = append(errs, fmt.Errorf("TemplateName %q must be lowercase letters, digits and underscores", cfg.TemplateName))
	}
	for locale, code := range cfg.LanguageCodes {
		if !validLanguageCode(code) {
			errs = append(errs, fmt.Errorf("LanguageCodes[%q] = %q is not a Meta language code", locale, code))
		}
	}
	if (cfg.AndroidPackageName == "") != (cfg.AndroidSignatureHash == "") {
		errs = append(errs, errors.New("AndroidPackageName and AndroidSignatureHash go together"))
	} else if cfg.AndroidPackageName != "" {
		if !validAndroidPackage(cfg.AndroidPackageName) {
			errs = append(errs, fmt.Errorf("AndroidPackageName %q is not an Android package name", cfg.AndroidPackageName))
		}
		if !validSignatureHash(cfg.AndroidSignatureHash) {
			errs = append(errs, errors.New("AndroidSignatureHash must be the 11-character app signature hash"))
		}
	}
	if cfg.CodeExpirationMinutes < 0 || cfg.CodeExpirationMinutes > 90 {
		errs = append(errs, fmt.Errorf("CodeExpirationMinutes %d is not within 0 to 90", cfg.CodeExpirationMinutes))
	}
	if len(errs) > 0 {
		return fmt.Errorf("meta: invalid config: %w", errors.Join(errs...))
	}
	return nil
}
