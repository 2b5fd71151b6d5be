package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// TemplateClient manages the message templates of a WhatsApp Business
// Account through the Graph API (plain net/http, like the sender):
//
//	GET  {BaseURL}/{APIVersion}/{WABAID}/message_templates?name=…  List
//	POST {BaseURL}/{APIVersion}/{WABAID}/message_templates         Create
//	POST {BaseURL}/{APIVersion}/{TEMPLATE_ID}                      Update
//
// Failures are *APIError (Meta's error, the access token redacted) or
// transport errors; the token is never logged or put in an error.
type TemplateClient struct {
	base   string // {BaseURL}/{APIVersion}
	waba   string
	token  string
	client *http.Client
}

// maxTemplatePages bounds how many pages List follows.
const maxTemplatePages = 20

// NewTemplateClient checks what the template endpoints need of cfg (the
// WABA id, the token, the API version and base URL) and returns the
// client.
func NewTemplateClient(cfg Config) (*TemplateClient, error) {
	cfg = cfg.withDefaults()
	var errs []error
	if !isDigits(cfg.WABAID) {
		errs = append(errs, errors.New("WABAID (META_WABA_ID) must be the numeric WhatsApp Business Account id"))
	}
	if strings.TrimSpace(cfg.AccessToken) == "" || strings.ContainsAny(cfg.AccessToken, " \t\r\n") {
		errs = append(errs, errors.New("AccessToken (META_ACCESS_TOKEN) is required and must not contain white space"))
	}
	if !validAPIVersion(cfg.APIVersion) {
		errs = append(errs, fmt.Errorf("APIVersion %q is not like v23.0", cfg.APIVersion))
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.RawQuery != "" || base.Fragment != "" {
		errs = append(errs, fmt.Errorf("BaseURL %q is not an http(s) origin", cfg.BaseURL))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("meta: invalid config: %w", errors.Join(errs...))
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &TemplateClient{
		base:   strings.TrimRight(cfg.BaseURL, "/") + "/" + cfg.APIVersion,
		waba:   cfg.WABAID,
		token:  cfg.AccessToken,
		client: client,
	}, nil
}

// RemoteTemplate is one language of a template as the Graph API returns it.
type RemoteTemplate struct {
	ID                    string `json:"id"`
	Name                  string `json:"name"`
	Language              string `json:"language"`
	Status                string `json:"status"` // APPROVED, PENDING, REJECTED, PAUSED, DISABLED, …
	Category              string `json:"category"`
	RejectedReason        string `json:"rejected_reason,omitempty"`
	MessageSendTTLSeconds int    `json:"message_send_ttl_seconds,omitempty"`
	// Components are Meta's own rendering (with texts and examples); see
	// Definition.
	Components []remoteComponent `json:"components"`
}

type remoteComponent struct {
	Type                      string         `json:"type"`
	Text                      string         `json:"text,omitempty"`
	AddSecurityRecommendation bool           `json:"add_security_recommendation,omitempty"`
	CodeExpirationMinutes     int            `json:"code_expiration_minutes,omitempty"`
	Buttons                   []remoteButton `json:"buttons,omitempty"`
}

type remoteButton struct {
	Type          string         `json:"type"`
	Text          string         `json:"text,omitempty"`
	OTPType       string         `json:"otp_type,omitempty"`
	URL           string         `json:"url,omitempty"`
	SupportedApps []SupportedApp `json:"supported_apps,omitempty"`
	// PackageName and SignatureHash are the older one-tap shape.
	PackageName   string `json:"package_name,omitempty"`
	SignatureHash string `json:"signature_hash,omitempty"`
}

// Definition returns what the template decides, read from Meta's
// rendering. Meta may show an OTP button as a URL button whose URL carries
// otp_type; that is read too.
func (r RemoteTemplate) Definition() Definition {
	d := Definition{MessageSendTTLSeconds: r.MessageSendTTLSeconds}
	for _, c := range r.Components {
		switch strings.ToUpper(c.Type) {
		case "BODY":
			d.SecurityRecommendation = c.AddSecurityRecommendation
		case "FOOTER":
			d.CodeExpirationMinutes = c.CodeExpirationMinutes
		case "BUTTONS":
			for _, b := range c.Buttons {
				otp := b.OTPType
				if otp == "" && b.URL != "" {
					if u, err := url.Parse(b.URL); err == nil {
						otp = u.Query().Get("otp_type")
					}
				}
				if otp != "" {
					d.Button = ButtonType(strings.ToLower(otp))
				}
				d.Apps = append(d.Apps, b.SupportedApps...)
				if b.PackageName != "" {
					d.Apps = append(d.Apps, SupportedApp{PackageName: b.PackageName, SignatureHash: b.SignatureHash})
				}
			}
		}
	}
	sortApps(d.Apps)
	return d
}

// templateFields are the fields List asks for.
const templateFields = "id,name,language,status,category,rejected_reason,message_send_ttl_seconds,components"

// List returns every language of the template called name (Meta's name
// filter also matches other names; they are dropped).
func (c *TemplateClient) List(ctx context.Context, name string) ([]RemoteTemplate, error) {
	q := url.Values{"name": {name}, "fields": {templateFields}, "limit": {"100"}}
	var out []RemoteTemplate
	for range maxTemplatePages {
		var page struct {
			Data   []RemoteTemplate `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := c.do(ctx, http.MethodGet, c.base+"/"+c.waba+"/message_templates?"+q.Encode(), nil, &page); err != nil {
			return nil, fmt.Errorf("meta: list templates %s: %w", name, err)
		}
		for _, t := range page.Data {
			if t.Name == name {
				out = append(out, t)
			}
		}
		if page.Paging.Next == "" || page.Paging.Cursors.After == "" {
			return out, nil
		}
		q.Set("after", page.Paging.Cursors.After)
	}
	return nil, fmt.Errorf("meta: list templates %s: more than %d pages", name, maxTemplatePages)
}

// Created is Meta's answer to Create.
type Created struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Category string `json:"category"`
}

// Create submits t (one language) for review.
func (c *TemplateClient) Create(ctx context.Context, t Template) (Created, error) {
	var out Created
	if err := c.do(ctx, http.MethodPost, c.base+"/"+c.waba+"/message_templates", t, &out); err != nil {
		return Created{}, fmt.Errorf("meta: create template %s %s: %w", t.Name, t.Language, err)
	}
	if out.ID == "" {
		return Created{}, fmt.Errorf("meta: create template %s %s: the answer has no id", t.Name, t.Language)
	}
	return out, nil
}

// templateEdit is the body of an edit: name, language and category cannot
// change.
type templateEdit struct {
	MessageSendTTLSeconds int                 `json:"message_send_ttl_seconds,omitempty"`
	Components            []TemplateComponent `json:"components"`
}

// Update replaces the components and time-to-live of the template with id
// by t's. Meta edits only APPROVED, REJECTED and PAUSED templates, and an
// approved one at most once a day.
func (c *TemplateClient) Update(ctx context.Context, id string, t Template) error {
	if !isDigits(id) {
		return fmt.Errorf("meta: update template %s %s: id %q is not numeric", t.Name, t.Language, id)
	}
	var out struct {
		Success bool `json:"success"`
	}
	body := templateEdit{MessageSendTTLSeconds: t.MessageSendTTLSeconds, Components: t.Components}
	if err := c.do(ctx, http.MethodPost, c.base+"/"+id, body, &out); err != nil {
		return fmt.Errorf("meta: update template %s %s: %w", t.Name, t.Language, err)
	}
	if !out.Success {
		return fmt.Errorf("meta: update template %s %s: Meta did not answer success", t.Name, t.Language)
	}
	return nil
}

// do sends one Graph API request with the bearer token and decodes a 2xx
// answer into out; other answers are *APIError.
func (c *TemplateClient) do(ctx context.Context, method, u string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err // a *url.Error: method and URL, never the header
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("read response (HTTP %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr, _ := parseAPIError(resp.StatusCode, raw, redactor(c.token))
		return apiErr
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode response (HTTP %d): %w", resp.StatusCode, err)
	}
	return nil
}
