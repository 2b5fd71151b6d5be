// Package client is a Go client of the Veriflow HTTP API: typed methods for
// starting, checking, reading, resending and canceling verifications, and
// typed errors (*Error) carrying the API's problem+json.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls one Veriflow deployment with one API key.
type Client struct {
	base string
	key  string
	http *http.Client
}

// New returns a client of the API at baseURL (e.g. "https://verify.example.com")
// authenticating with apiKey. httpClient may be nil (a 15 s timeout client).
func New(baseURL, apiKey string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), key: apiKey, http: httpClient}
}

// Destinations are where a code may be sent.
type Destinations struct {
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

// Transaction is what a transaction verification approves.
type Transaction struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Payee    string `json:"payee"`
}

// Document is what a signature verification consents to.
type Document struct {
	SHA256 string `json:"sha256"`
	Title  string `json:"title"`
}

// StartRequest starts a verification; zero fields take the kind's defaults.
type StartRequest struct {
	Kind                  string       `json:"kind"`
	To                    Destinations `json:"to"`
	Channels              []string     `json:"channels,omitempty"`
	ChannelTimeoutSeconds int          `json:"channel_timeout_seconds,omitempty"`
	// ChannelGoal is "delivered" (default) or "read": with read, WhatsApp
	// and RCS must be read within the channel timeout.
	ChannelGoal string            `json:"channel_goal,omitempty"`
	Locale      string            `json:"locale,omitempty"`
	CodeLength  int               `json:"code_length,omitempty"`
	TTLSeconds  int               `json:"ttl_seconds,omitempty"`
	MaxChecks   int               `json:"max_checks,omitempty"`
	Transaction *Transaction      `json:"transaction,omitempty"`
	Document    *Document         `json:"document,omitempty"`
	ClientIP    string            `json:"client_ip,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Supersede   *bool             `json:"supersede,omitempty"`
	// IdempotencyKey, if set, is sent as the Idempotency-Key header.
	IdempotencyKey string `json:"-"`
}

// Attempt is one send of the code.
type Attempt struct {
	Channel string        `json:"channel"`
	Status  string        `json:"status"`
	Error   FailureReason `json:"error,omitempty"`
	SentAt  *time.Time    `json:"sent_at"`
	// DeliveredAt and ReadAt are set once the attempt was delivered / read.
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	ReadAt      *time.Time `json:"read_at,omitempty"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Verification is the API's verification object (destinations masked).
type Verification struct {
	ID          string            `json:"id"`
	Kind        string            `json:"kind"`
	Status      string            `json:"status"`
	To          Destinations      `json:"to"`
	Channel     *string           `json:"channel"`
	ChecksLeft  int               `json:"checks_left"`
	CreatedAt   time.Time         `json:"created_at"`
	ExpiresAt   time.Time         `json:"expires_at"`
	CompletedAt *time.Time        `json:"completed_at"`
	Attempts    []Attempt         `json:"attempts"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	// Risk is the fraud engine's decision on the start.
	Risk *Risk `json:"risk,omitempty"`
}

// Risk is the fraud engine's decision on a start: Decision "allow",
// "challenge" (only WhatsApp, RCS and email kept) or "block"; Mode
// "enforce" or "shadow" (recorded, not acted on).
type Risk struct {
	Decision string       `json:"decision"`
	Mode     string       `json:"mode"`
	Reasons  []RiskReason `json:"reasons"`
}

// RiskReason is a signal behind a decision ("unverified_hour" by
// "prefix_long", …).
type RiskReason struct {
	Signal string `json:"signal"`
	Scope  string `json:"scope,omitempty"`
}

// Approved reports whether the verification is approved.
func (v Verification) Approved() bool { return v.Status == "approved" }

// Final reports whether the verification can no longer change.
func (v Verification) Final() bool { return v.Status != "pending" }

// FieldError names an invalid field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an API error: the problem+json body and the Retry-After header.
type Error struct {
	Status     int           `json:"status"`
	Code       string        `json:"code"`
	Title      string        `json:"title"`
	Detail     string        `json:"detail"`
	Errors     []FieldError  `json:"errors,omitempty"`
	ChecksLeft *int          `json:"checks_left,omitempty"`
	RetryAfter time.Duration `json:"-"`
	// Risk is set on "blocked": the fraud engine's decision.
	Risk *Risk `json:"risk,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("veriflow: %d %s: %s", e.Status, e.Code, e.Detail)
}

// IsCode reports whether err is an *Error with the given problem code
// (e.g. "rate_limited", "binding_mismatch", "not_found").
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Start starts a verification. The bool reports an idempotent replay.
func (c *Client) Start(ctx context.Context, r StartRequest) (Verification, bool, error) {
	var v Verification
	h := http.Header{}
	if r.IdempotencyKey != "" {
		h.Set("Idempotency-Key", r.IdempotencyKey)
	}
	status, err := c.do(ctx, http.MethodPost, "/v1/verifications", h, r, &v)
	return v, status == http.StatusOK, err
}

// Get reads a verification.
func (c *Client) Get(ctx context.Context, id string) (Verification, error) {
	var v Verification
	_, err := c.do(ctx, http.MethodGet, "/v1/verifications/"+url.PathEscape(id), nil, nil, &v)
	return v, err
}

// CheckRequest is a code check; Transaction or Document must repeat what a
// transaction or signature verification approves.
type CheckRequest struct {
	Code        string       `json:"code"`
	Transaction *Transaction `json:"transaction,omitempty"`
	Document    *Document    `json:"document,omitempty"`
}

// Check checks a code. A wrong code is not an error: the verification stays
// pending with fewer checks left. A binding mismatch is an *Error with code
// "binding_mismatch".
func (c *Client) Check(ctx context.Context, id string, r CheckRequest) (Verification, error) {
	var v Verification
	_, err := c.do(ctx, http.MethodPost, "/v1/verifications/"+url.PathEscape(id)+"/check", nil, r, &v)
	return v, err
}

// Resend sends the code again, on channel or (empty) the plan's next one.
func (c *Client) Resend(ctx context.Context, id, channel string) (Verification, error) {
	var v Verification
	body := map[string]string{}
	if channel != "" {
		body["channel"] = channel
	}
	_, err := c.do(ctx, http.MethodPost, "/v1/verifications/"+url.PathEscape(id)+"/resend", nil, body, &v)
	return v, err
}

// Cancel cancels a pending verification.
func (c *Client) Cancel(ctx context.Context, id string) (Verification, error) {
	var v Verification
	_, err := c.do(ctx, http.MethodPost, "/v1/verifications/"+url.PathEscape(id)+"/cancel", nil, nil, &v)
	return v, err
}

// SandboxMessage is a test-mode message, with its code.
type SandboxMessage struct {
	ID             string    `json:"id"`
	VerificationID string    `json:"verification_id"`
	Channel        string    `json:"channel"`
	To             string    `json:"to"`
	Body           string    `json:"body"`
	Code           string    `json:"code"`
	CreatedAt      time.Time `json:"created_at"`
}

// SandboxMessages lists test-mode messages, newest first, optionally to one
// destination (test keys only).
func (c *Client) SandboxMessages(ctx context.Context, to string) ([]SandboxMessage, error) {
	path := "/v1/sandbox/messages"
	if to != "" {
		path += "?" + url.Values{"to": {to}}.Encode()
	}
	var out struct {
		Messages []SandboxMessage `json:"messages"`
	}
	_, err := c.do(ctx, http.MethodGet, path, nil, nil, &out)
	return out.Messages, err
}

// do sends one request and decodes a 2xx body into out, or returns *Error.
func (c *Client) do(ctx context.Context, method, path string, h http.Header, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("veriflow: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, fmt.Errorf("veriflow: %w", err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("veriflow: %s %s: %w", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return res.StatusCode, fmt.Errorf("veriflow: read response: %w", err)
	}
	if res.StatusCode >= 300 {
		e := &Error{Status: res.StatusCode}
		if json.Unmarshal(b, e) != nil || e.Code == "" {
			e.Code, e.Detail = "http_"+strconv.Itoa(res.StatusCode), http.StatusText(res.StatusCode)
		}
		e.Status = res.StatusCode
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return res.StatusCode, e
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, fmt.Errorf("veriflow: decode response: %w", err)
		}
	}
	return res.StatusCode, nil
}
