package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// Code is the stable, machine-readable code of a problem.
type Code string

// Problem codes of the contract (and the ones Veriflow adds in its style).
const (
	CodeInvalidRequest      Code = "invalid_request"
	CodeUnauthorized        Code = "unauthorized"
	CodeForbidden           Code = "forbidden"
	CodeNotFound            Code = "not_found"
	CodeRateLimited         Code = "rate_limited"
	CodeIdempotencyConflict Code = "idempotency_conflict"
	CodeBindingMismatch     Code = "binding_mismatch"
	CodeNotPending          Code = "not_pending"
	CodeUnavailable         Code = "unavailable"
	CodeInternal            Code = "internal"
	CodePayloadTooLarge     Code = "payload_too_large"
)

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Code   Code         `json:"code"`
	Errors []FieldError `json:"errors,omitempty"`
	// ChecksLeft is set on binding_mismatch: the failed check counted.
	ChecksLeft *int `json:"checks_left,omitempty"`
	// RetryAfter mirrors the Retry-After header on rate_limited.
	RetryAfter int `json:"retry_after,omitempty"`
}

func problem(status int, code Code, detail string) *Problem {
	return &Problem{
		Type:   "https://veriflow.dev/problems/" + string(code),
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   code,
	}
}

func invalid(errs ...FieldError) *Problem {
	p := problem(http.StatusBadRequest, CodeInvalidRequest, "The request has invalid fields.")
	p.Errors = errs
	return p
}

func (p *Problem) Error() string { return string(p.Code) + ": " + p.Detail }

// writeProblem sends p as application/problem+json and stops the chain.
func writeProblem(c *gin.Context, p *Problem) {
	if p.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	if p.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="veriflow"`)
	}
	c.Header("Content-Type", "application/problem+json")
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(p.Status, p)
}
