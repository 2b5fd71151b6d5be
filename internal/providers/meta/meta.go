// Package meta is the WhatsApp Cloud API adapter (Meta Graph API, plain
// net/http): it sends one-time codes through an approved AUTHENTICATION
// template, maps Meta's error codes to Veriflow's permanent and transient
// failures, and verifies and parses the Cloud API's status webhooks.
//
// A send is POST {BaseURL}/{APIVersion}/{PhoneNumberID}/messages with the
// documented authentication-template payload: the code is the body
// parameter and the parameter of the template's OTP button (sub_type "url",
// index "0"), for copy-code and one-tap templates alike. One-tap autofill is
// a property of the template, not of the send: see TemplateDefinition.
//
// Neither the code nor the access token is ever logged or put in an error.
package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

// Name is the provider name of Meta messages and receipts.
const Name = "meta"

// Defaults of Config.
const (
	DefaultAPIVersion = "v23.0"
	DefaultBaseURL    = "https://graph.facebook.com"
)

// userAgent matches the User-Agent pattern of Meta's OpenAPI spec
// (product/major.minor.patch); Go's default "Go-http-client/1.1" does not.
const userAgent = "Veriflow/1.0.0"

// maxCodeLen is Meta's limit on an authentication template's code.
const maxCodeLen = 15

// maxResponseBytes bounds how much of a Graph API response is read.
const maxResponseBytes = 1 << 20

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
	// AndroidPackageName and AndroidSignatureHash, both set, make
	// TemplateDefinition describe a one-tap autofill template (Android; other
	// devices show the copy-code button). They do not change the send
	// payload: one-tap is configured on the template. New validates them.
	AndroidPackageName   string
	AndroidSignatureHash string
	// CodeExpirationMinutes, 1 to 90, adds the "This code expires in N
	// minutes" footer to TemplateDefinition; 0 leaves it out.
	CodeExpirationMinutes int
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

// Provider sends codes through the WhatsApp Cloud API.
type Provider struct {
	cfg      Config
	endpoint string
	langs    map[string]string
	client   *http.Client
	log      *slog.Logger
}

// New validates cfg and returns the provider.
func New(cfg Config) (*Provider, error) {
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
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
	langs := DefaultLanguageCodes()
	for locale, code := range cfg.LanguageCodes {
		if !validLanguageCode(code) {
			errs = append(errs, fmt.Errorf("LanguageCodes[%q] = %q is not a Meta language code", locale, code))
		}
		langs[strings.ToLower(locale)] = code
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
		return nil, fmt.Errorf("meta: invalid config: %w", errors.Join(errs...))
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.LanguageCodes = langs
	return &Provider{
		cfg:      cfg,
		endpoint: strings.TrimRight(cfg.BaseURL, "/") + "/" + cfg.APIVersion + "/" + cfg.PhoneNumberID + "/messages",
		langs:    langs,
		client:   client,
		log:      log,
	}, nil
}

// Name implements providers.Provider.
func (p *Provider) Name() string { return Name }

// LanguageCode returns the template language code Send uses for locale.
func (p *Provider) LanguageCode(locale string) string { return languageCode(p.langs, locale) }

// VerifySignature checks a webhook's X-Hub-Signature-256 header with the
// configured AppSecret (see the package function VerifySignature).
func (p *Provider) VerifySignature(body []byte, header string) bool {
	return VerifySignature(p.cfg.AppSecret, body, header)
}

// Challenge answers the webhook's GET challenge with the configured
// VerifyToken (see the package function Challenge).
func (p *Provider) Challenge(q url.Values) (string, bool) { return Challenge(q, p.cfg.VerifyToken) }

// languageCode maps locale (en, pt-BR, it_IT, ...) through langs: the exact
// locale, then its language, then "en".
func languageCode(langs map[string]string, locale string) string {
	l := strings.ToLower(strings.TrimSpace(locale))
	if c, ok := langs[l]; ok {
		return c
	}
	if base, _, ok := strings.Cut(strings.ReplaceAll(l, "_", "-"), "-"); ok {
		if c, ok := langs[base]; ok {
			return c
		}
	}
	if c, ok := langs["en"]; ok {
		return c
	}
	return "en_US"
}

// The send payload (Meta's "Sending Authentication Templates" body).
type sendRequest struct {
	MessagingProduct string          `json:"messaging_product"`
	RecipientType    string          `json:"recipient_type"`
	To               string          `json:"to"`
	Type             string          `json:"type"`
	Template         templateMessage `json:"template"`
}

type templateMessage struct {
	Name       string      `json:"name"`
	Language   language    `json:"language"`
	Components []component `json:"components"`
}

type language struct {
	Code   string `json:"code"`
	Policy string `json:"policy"`
}

type component struct {
	Type       string      `json:"type"`
	SubType    string      `json:"sub_type,omitempty"`
	Index      string      `json:"index,omitempty"`
	Parameters []parameter `json:"parameters"`
}

type parameter struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type sendResponse struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

type errorResponse struct {
	Error *struct {
		Message      string `json:"message"`
		Type         string `json:"type"`
		Code         int    `json:"code"`
		ErrorSubcode int    `json:"error_subcode"`
		FBTraceID    string `json:"fbtrace_id"`
		ErrorData    struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"error"`
}

// APIError is an error answer of the Graph API. Message and Details have
// the code, the token and the destination redacted.
type APIError struct {
	StatusCode int // HTTP status
	Code       int // error.code; 0 when the body was not Meta's error JSON
	Subcode    int // error.error_subcode
	Type       string
	Message    string
	Details    string // error.error_data.details
	FBTraceID  string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "meta: HTTP %d", e.StatusCode)
	if e.Code != 0 {
		fmt.Fprintf(&b, ": code %d", e.Code)
		if e.Subcode != 0 {
			fmt.Fprintf(&b, " subcode %d", e.Subcode)
		}
	}
	if e.Type != "" {
		b.WriteString(" (" + e.Type + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Details != "" {
		b.WriteString(": " + e.Details)
	}
	if e.FBTraceID != "" {
		b.WriteString(" [fbtrace_id " + e.FBTraceID + "]")
	}
	return b.String()
}

// Send implements providers.Provider: it sends m.Code through the
// authentication template in the language of m.Locale. Failures that no
// retry can fix are *providers.PermanentError (see ErrorReason); rate limits,
// HTTP 429/5xx, network errors and timeouts are plain errors, to retry.
func (p *Provider) Send(ctx context.Context, m providers.Message) (providers.Result, error) {
	if m.Channel != contract.ChannelWhatsApp {
		return providers.Result{}, &providers.PermanentError{Reason: contract.ReasonChannelNotSupported,
			Err: fmt.Errorf("meta: channel %q is not whatsapp", m.Channel)}
	}
	to := strings.TrimPrefix(strings.TrimSpace(m.To), "+")
	if !isDigits(to) || len(to) < 7 || len(to) > 15 {
		return providers.Result{}, &providers.PermanentError{Reason: contract.ReasonInvalidDestination,
			Err: errors.New("meta: destination is not an E.164 phone number")}
	}
	if m.Code == "" || len(m.Code) > maxCodeLen {
		return providers.Result{}, &providers.PermanentError{Reason: contract.ReasonInvalidMessage,
			Err: fmt.Errorf("meta: the code must be 1 to %d characters", maxCodeLen)}
	}
	lang := p.LanguageCode(m.Locale)
	body, err := json.Marshal(p.request(to, m.Code, lang))
	if err != nil {
		return providers.Result{}, fmt.Errorf("meta: encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return providers.Result{}, fmt.Errorf("meta: build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+p.cfg.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := p.client.Do(req)
	if err != nil {
		return providers.Result{}, fmt.Errorf("meta: send: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return providers.Result{}, fmt.Errorf("meta: read response (HTTP %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		var ok sendResponse
		if err := json.Unmarshal(raw, &ok); err != nil {
			return providers.Result{}, fmt.Errorf("meta: decode response: %w", err)
		}
		if len(ok.Messages) == 0 || ok.Messages[0].ID == "" {
			return providers.Result{}, errors.New("meta: response has no message id")
		}
		return providers.Result{MessageID: ok.Messages[0].ID}, nil
	}
	return providers.Result{}, p.failure(ctx, resp.StatusCode, raw, lang, redactor(m.Code, p.cfg.AccessToken, to))
}

// request builds the authentication-template payload.
func (p *Provider) request(to, code, lang string) sendRequest {
	return sendRequest{
		MessagingProduct: "whatsapp",
		RecipientType:    "individual",
		To:               to,
		Type:             "template",
		Template: templateMessage{
			Name:     p.cfg.TemplateName,
			Language: language{Code: lang, Policy: "deterministic"},
			Components: []component{
				{Type: "body", Parameters: []parameter{{Type: "text", Text: code}}},
				{Type: "button", SubType: "url", Index: "0", Parameters: []parameter{{Type: "text", Text: code}}},
			},
		},
	}
}

// failure turns a non-2xx answer into a permanent or a transient error.
func (p *Provider) failure(ctx context.Context, status int, raw []byte, lang string, redact func(string) string) error {
	apiErr := &APIError{StatusCode: status}
	var er errorResponse
	if json.Unmarshal(raw, &er) == nil && er.Error != nil {
		apiErr.Code = er.Error.Code
		apiErr.Subcode = er.Error.ErrorSubcode
		apiErr.Type = clip(er.Error.Type)
		apiErr.Message = clip(redact(er.Error.Message))
		apiErr.Details = clip(redact(er.Error.ErrorData.Details))
		apiErr.FBTraceID = clip(er.Error.FBTraceID)
	}
	var e providers.ErrorRule
	known := er.Error != nil
	if known {
		e, known = errorTable().Lookup(apiErr.Code)
	}
	if !known {
		// Not one of the documented codes: the HTTP status decides.
		if status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500 || status < 400 {
			return fmt.Errorf("meta: send: %w", apiErr)
		}
		return &providers.PermanentError{Reason: contract.ReasonProviderRejected, Err: apiErr}
	}
	if e.Alert {
		p.log.ErrorContext(ctx, "WhatsApp sends fail until an operator fixes the Meta setup; verifications fail over to the next channel",
			"provider", Name, "reason", e.Reason, "meta_code", apiErr.Code, "meta_subcode", apiErr.Subcode,
			"template", p.cfg.TemplateName, "language", lang, "phone_number_id", p.cfg.PhoneNumberID,
			"meta_message", apiErr.Message, "meta_details", apiErr.Details, "fbtrace_id", apiErr.FBTraceID)
	}
	if !e.Permanent {
		return fmt.Errorf("meta: send (%s): %w", e.Reason, apiErr)
	}
	return &providers.PermanentError{Reason: e.Reason, Err: apiErr}
}

// redactor returns a function that blanks the secrets of one send out of
// text Meta sends back.
func redactor(secrets ...string) func(string) string {
	return func(s string) string {
		for _, v := range secrets {
			if v != "" {
				s = strings.ReplaceAll(s, v, "[redacted]")
			}
		}
		return s
	}
}

// clip bounds a string from the wire before it goes into an error or a log.
func clip(s string) string {
	const limit = 300
	if len(s) <= limit {
		return s
	}
	return strings.ToValidUTF8(s[:limit], "") + "…"
}
