package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/guard"
	"github.com/veriflow/veriflow/internal/verify"
)

// TestFailMapsVerifyErrors: every kind of *verify.Error becomes its
// contract status, code and headers, and a cause never reaches the client.
func TestFailMapsVerifyErrors(t *testing.T) {
	spec := newSpecValidator(t)
	left := 2
	for _, tc := range []struct {
		err        error
		status     int
		code       Code
		retryAfter string
		field      string
	}{
		{&verify.Error{Kind: verify.NotFound, Detail: "No such verification."}, 404, CodeNotFound, "", ""},
		{&verify.Error{Kind: verify.Invalid, Field: "url", Detail: "must be https"}, 400, CodeInvalidRequest, "", "url"},
		{&verify.Error{Kind: verify.Unauthorized, Detail: "A valid API key is required."}, 401, CodeUnauthorized, "", ""},
		{&verify.Error{Kind: verify.Forbidden, Detail: "test keys only"}, 403, CodeForbidden, "", ""},
		{&verify.Error{Kind: verify.NotPending, Detail: "The verification has finished."}, 409, CodeNotPending, "", ""},
		{&verify.Error{Kind: verify.IdempotencyConflict, Detail: "reused"}, 409, CodeIdempotencyConflict, "", ""},
		{&verify.Error{Kind: verify.NoCallback, Detail: "none"}, 409, CodeNoCallback, "", ""},
		{&verify.Error{Kind: verify.BindingMismatch, Detail: "mismatch", ChecksLeft: &left}, 409, CodeBindingMismatch, "", ""},
		{&verify.Error{Kind: verify.RateLimited, Code: "rate_limited", Detail: "Too many sends: cooldown.", RetryAfter: 30 * time.Second},
			429, CodeRateLimited, "30", ""},
		// Guard refusals: rate limits round Retry-After up; a refused
		// destination is a 422 naming its field.
		{verify.RefusalError(&guard.Refusal{Code: guard.CodePrefixVelocity, Detail: "Too many.", RetryAfter: 1500 * time.Millisecond}),
			429, Code(guard.CodePrefixVelocity), "2", ""},
		{verify.RefusalError(&guard.Refusal{Code: guard.CodeCountryNotAllowed, Detail: "Not allowed.", Field: "to.phone"}),
			422, Code(guard.CodeCountryNotAllowed), "", "to.phone"},
		{&verify.Error{Kind: verify.Unavailable, Op: "insert verification", Err: errors.New("pq: secret internal text")},
			503, CodeUnavailable, "1", ""},
		{errors.New("not a verify error: secret internal text"), 503, CodeUnavailable, "1", ""},
	} {
		s := &Server{Deps: Deps{Log: slog.New(slog.DiscardHandler)}}
		c, w := testContext(nil)
		s.fail(c, tc.err)
		var p Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatalf("%v: body %q: %v", tc.err, w.Body, err)
		}
		if w.Code != tc.status || p.Status != tc.status || p.Code != tc.code {
			t.Errorf("%v: %d %d %q, want %d %q", tc.err, w.Code, p.Status, p.Code, tc.status, tc.code)
		}
		if got := w.Header().Get("Retry-After"); got != tc.retryAfter {
			t.Errorf("%v: Retry-After %q, want %q", tc.err, got, tc.retryAfter)
		}
		if tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field) {
			t.Errorf("%v: errors %+v, want one for %s", tc.err, p.Errors, tc.field)
		}
		if tc.code == CodeBindingMismatch && (p.ChecksLeft == nil || *p.ChecksLeft != left) {
			t.Errorf("%v: checks_left %v, want %d", tc.err, p.ChecksLeft, left)
		}
		if bytes.Contains(w.Body.Bytes(), []byte("secret internal text")) {
			t.Errorf("%v: the cause reached the client: %s", tc.err, w.Body)
		}
		if tc.status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%v: no WWW-Authenticate", tc.err)
		}
		spec.mustMatchJSON("Problem", w.Body.Bytes())
	}
}
