// Package problem writes RFC 9457 problem details (application/problem+json)
// from plain net/http handlers, in exactly the JSON shape of the API's own
// problems: the provider webhooks, mounted by the API but written outside
// it, answer with it.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Codes used outside the API; the API's list is api.Code.
const (
	CodeInvalidRequest  = "invalid_request"
	CodeForbidden       = "forbidden"
	CodeNotFound        = "not_found"
	CodeUnavailable     = "unavailable"
	CodePayloadTooLarge = "payload_too_large"
)

// Problem is an RFC 9457 problem details object. Its fields are those of
// api.Problem, in the same order, so the bytes on the wire are the same.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
	// RetryAfter mirrors the Retry-After header.
	RetryAfter int `json:"retry_after,omitempty"`
}

// New returns the problem of status with a stable code and a detail.
func New(status int, code, detail string) Problem {
	return Problem{
		Type:   "https://veriflow.dev/problems/" + code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   code,
	}
}

// Write sends p as application/problem+json.
func Write(w http.ResponseWriter, p Problem) {
	body, err := json.Marshal(p)
	if err != nil {
		// A Problem holds strings and ints only: Marshal cannot fail.
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body) // the client went away: nothing to do
}

// NotFound answers 404 not_found with detail.
func NotFound(w http.ResponseWriter, detail string) {
	Write(w, New(http.StatusNotFound, CodeNotFound, detail))
}

// Forbidden answers 403 forbidden with detail.
func Forbidden(w http.ResponseWriter, detail string) {
	Write(w, New(http.StatusForbidden, CodeForbidden, detail))
}

// BadRequest answers 400 invalid_request with detail.
func BadRequest(w http.ResponseWriter, detail string) {
	Write(w, New(http.StatusBadRequest, CodeInvalidRequest, detail))
}

// TooLarge answers 413 payload_too_large.
func TooLarge(w http.ResponseWriter) {
	Write(w, New(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "The body is too large."))
}

// Unavailable answers 503 unavailable with Retry-After: 1, for a
// dependency failure (whose cause the caller logs, never sends).
func Unavailable(w http.ResponseWriter) {
	p := New(http.StatusServiceUnavailable, CodeUnavailable, "A dependency is unavailable; retry later.")
	p.RetryAfter = 1
	Write(w, p)
}
