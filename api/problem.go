package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/veriflow/veriflow/internal/verify"
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
	// CodeNoCallback: an event cannot be resent while no callback is
	// registered.
	CodeNoCallback Code = "no_callback"
	// CodeBlocked: the fraud engine blocked the start (or a challenged
	// verification's resend by SMS or voice).
	CodeBlocked Code = "blocked"
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
	// Risk is the fraud engine's decision on blocked.
	Risk *riskView `json:"risk,omitempty"`
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

// fail answers a use case's error: the one mapping from verify's typed
// errors to problems. A dependency failure (or an error that is not a
// *verify.Error) is a 503 whose cause is logged, never sent.
func (s *Server) fail(c *gin.Context, err error) {
	var e *verify.Error
	if !errors.As(err, &e) {
		e = &verify.Error{Kind: verify.Unavailable, Op: "request", Err: err}
	}
	p := problemOf(e)
	if p.Status == http.StatusServiceUnavailable {
		s.Log.ErrorContext(c.Request.Context(), e.Op+" failed", "error", e.Err, "request_id", c.GetString("request_id"))
	}
	writeProblem(c, p)
}

// problemOf is the problem that answers e.
func problemOf(e *verify.Error) *Problem {
	switch e.Kind {
	case verify.NotFound:
		return problem(http.StatusNotFound, CodeNotFound, e.Detail)
	case verify.Invalid:
		return invalid(FieldError{Field: e.Field, Message: e.Detail})
	case verify.Unauthorized:
		return problem(http.StatusUnauthorized, CodeUnauthorized, e.Detail)
	case verify.Forbidden:
		return problem(http.StatusForbidden, CodeForbidden, e.Detail)
	case verify.NotPending:
		return problem(http.StatusConflict, CodeNotPending, e.Detail)
	case verify.IdempotencyConflict:
		return problem(http.StatusConflict, CodeIdempotencyConflict, e.Detail)
	case verify.NoCallback:
		return problem(http.StatusConflict, CodeNoCallback, e.Detail)
	case verify.Blocked:
		p := problem(http.StatusForbidden, CodeBlocked, e.Detail)
		p.Risk = viewRisk(e.Risk)
		if e.Field != "" {
			p.Errors = []FieldError{{Field: e.Field, Message: e.Detail}}
		}
		return p
	case verify.BindingMismatch:
		p := problem(http.StatusConflict, CodeBindingMismatch, e.Detail)
		p.ChecksLeft = e.ChecksLeft
		return p
	case verify.RateLimited, verify.Refused:
		// 429 with Retry-After for rate limits and the velocity guard,
		// 422 for destinations the tenant may not send to.
		status := http.StatusTooManyRequests
		if e.Kind == verify.Refused {
			status = http.StatusUnprocessableEntity
		}
		code := Code(e.Code)
		if code == "" {
			code = CodeRateLimited
		}
		p := problem(status, code, e.Detail)
		p.RetryAfter = int((e.RetryAfter + time.Second - 1) / time.Second)
		if e.Field != "" {
			p.Errors = []FieldError{{Field: e.Field, Message: e.Detail}}
		}
		return p
	}
	p := problem(http.StatusServiceUnavailable, CodeUnavailable, "A dependency is unavailable; retry later.")
	p.RetryAfter = 1
	return p
}
