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
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	langs := DefaultLanguageCodes()
	for locale, code := range cfg.LanguageCodes {
		langs[strings.ToLower(locale)] = code
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

// RateKey implements providers.RateKeyer: Meta caps the send rate per
// business phone number.
func (p *Provider) RateKey() string { return p.cfg.PhoneNumberID }

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
	return providers.Result{}, p.failure(ctx, resp.StatusCode, resp.Header, raw, lang, redactor(m.Code, p.cfg.AccessToken, to))
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
