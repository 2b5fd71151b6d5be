package verify

import (
	"errors"
	"fmt"
	"time"

	"github.com/veriflow/veriflow/internal/fraud"
)

// ErrorKind says what went wrong with a use case, so that a transport (the
// HTTP API, the CLI) can answer it without looking at causes.
type ErrorKind uint8

// The kinds of Error.
const (
	// Unavailable: a dependency (Postgres, Temporal) failed; retry later.
	// Err holds the cause, which is logged and never shown.
	Unavailable ErrorKind = iota
	// NotFound: no such verification, event, evidence or callback (of
	// this tenant).
	NotFound
	// Invalid: a field's value is refused (Field names it).
	Invalid
	// Unauthorized: no valid, unrevoked API key was presented.
	Unauthorized
	// Forbidden: the key may not do this (sandbox reads need test mode).
	Forbidden
	// NotPending: the verification has finished.
	NotPending
	// IdempotencyConflict: the Idempotency-Key was used with a different
	// request.
	IdempotencyConflict
	// BindingMismatch: a check did not repeat what the code approves; it
	// counted as a failed check (ChecksLeft).
	BindingMismatch
	// NoCallback: an event cannot be resent while no callback is set.
	NoCallback
	// RateLimited: too many starts, checks or sends; RetryAfter says when
	// to try again. Code is the limit's stable code.
	RateLimited
	// Refused: the abuse policy refuses the destination (a country or a
	// number type the tenant may not send to). Code is its stable code.
	Refused
	// Blocked: the fraud engine blocked the start; Risk says why.
	Blocked
)

// String names the kind.
func (k ErrorKind) String() string {
	switch k {
	case Unavailable:
		return "unavailable"
	case NotFound:
		return "not found"
	case Invalid:
		return "invalid"
	case Unauthorized:
		return "unauthorized"
	case Forbidden:
		return "forbidden"
	case NotPending:
		return "not pending"
	case IdempotencyConflict:
		return "idempotency conflict"
	case BindingMismatch:
		return "binding mismatch"
	case NoCallback:
		return "no callback"
	case RateLimited:
		return "rate limited"
	case Refused:
		return "refused"
	case Blocked:
		return "blocked"
	}
	return fmt.Sprintf("ErrorKind(%d)", k)
}

// Error is the one error type of this package's use cases; match it with
// errors.As. Detail, Field, Code, RetryAfter and ChecksLeft are safe to
// show a client; Op and Err are for logs only.
type Error struct {
	Kind ErrorKind
	// Code is the stable code of a RateLimited or Refused error (the
	// guard's, or "rate_limited"); empty for the other kinds.
	Code string
	// Detail is a client-safe explanation (never a destination or a code).
	Detail string
	// Field is the request field at fault, if any.
	Field string
	// RetryAfter is how long to wait before trying again (RateLimited).
	RetryAfter time.Duration
	// ChecksLeft is set on BindingMismatch.
	ChecksLeft *int
	// Risk is set on Blocked.
	Risk *fraud.Risk
	// Op is what was being done ("insert verification"), for logs.
	Op string
	// Err is the cause (mostly of Unavailable), for logs.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	s := "verify: " + e.Kind.String()
	if e.Op != "" {
		s += ": " + e.Op
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err's *Error, Unavailable for any other error.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Unavailable
}

// unavailable wraps a dependency failure.
func unavailable(op string, err error) *Error { return &Error{Kind: Unavailable, Op: op, Err: err} }

// notFound is a missing resource, with the client-safe detail.
func notFound(detail string) *Error { return &Error{Kind: NotFound, Detail: detail} }

// invalid refuses one field.
func invalid(field, detail string) *Error { return &Error{Kind: Invalid, Field: field, Detail: detail} }

// notPending refuses an action on a finished verification.
func notPending(detail string) *Error { return &Error{Kind: NotPending, Detail: detail} }
