package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

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
	// Wait is the answer's Retry-After (0: none).
	Wait time.Duration
	// Fault is what kind of failure the answer is, for the circuit breaker.
	Fault providers.Fault
}

// ProviderFault implements providers.FaultError.
func (e *APIError) ProviderFault() providers.Fault { return e.Fault }

// RetryAfter implements providers.FaultError.
func (e *APIError) RetryAfter() time.Duration { return e.Wait }

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

// parseAPIError reads a non-2xx answer of the Graph API. known reports
// whether the body was Meta's error JSON.
func parseAPIError(status int, raw []byte, redact func(string) string) (apiErr *APIError, known bool) {
	apiErr = &APIError{StatusCode: status}
	var er errorResponse
	if json.Unmarshal(raw, &er) != nil || er.Error == nil {
		return apiErr, false
	}
	apiErr.Code = er.Error.Code
	apiErr.Subcode = er.Error.ErrorSubcode
	apiErr.Type = clip(er.Error.Type)
	apiErr.Message = clip(redact(er.Error.Message))
	apiErr.Details = clip(redact(er.Error.ErrorData.Details))
	apiErr.FBTraceID = clip(er.Error.FBTraceID)
	return apiErr, true
}

// failure turns a non-2xx answer into a permanent or a transient error.
func (p *Provider) failure(ctx context.Context, status int, header http.Header, raw []byte, lang string, redact func(string) string) error {
	apiErr, known := parseAPIError(status, raw, redact)
	apiErr.Wait = providers.ParseRetryAfter(header.Get("Retry-After"), time.Now())
	apiErr.Fault = providers.StatusFault(status)
	var e providers.ErrorRule
	if known {
		e, known = errorTable().Lookup(apiErr.Code)
	}
	if known && !e.Permanent {
		switch e.Reason {
		case contract.ReasonRateLimited:
			apiErr.Fault = providers.FaultRateLimited
		case contract.ReasonProviderUnavailable, contract.ReasonProviderError:
			apiErr.Fault = providers.FaultServer
		}
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
