package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
)

// TestStartRateLimits: the sixth start to one destination within ten
// minutes is refused with 429 and Retry-After, and creates nothing.
func TestStartRateLimits(t *testing.T) {
	s := need(t)
	body := map[string]any{"kind": "signup", "to": map[string]string{"email": "limit@example.com"}, "supersede": false}
	for i := range 5 {
		if r := s.call(t, "POST", "/v1/verifications", s.limited, body); r.Status != http.StatusCreated {
			t.Fatalf("start %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	before := s.countVerifications(t, "limited")
	r := s.call(t, "POST", "/v1/verifications", s.limited, body)
	p := r.problem(t)
	if r.Status != http.StatusTooManyRequests || p.Code != "rate_limited" {
		t.Fatalf("sixth start: %d %s", r.Status, r.Body)
	}
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if after := s.countVerifications(t, "limited"); after != before {
		t.Fatal("a refused start created a verification")
	}
	// Another destination of the same tenant is unaffected.
	if r := s.call(t, "POST", "/v1/verifications", s.limited, map[string]any{"kind": "signup", "to": map[string]string{"email": "other@example.com"}}); r.Status != 201 {
		t.Fatalf("other destination: %d %s", r.Status, r.Body)
	}
}

// TestParallelGuessingIsCapped opens several verifications to one phone and
// guesses on all of them: the failed checks are capped per destination
// across verifications (10 per hour), not multiplied by their number.
func TestParallelGuessingIsCapped(t *testing.T) {
	s := need(t)
	phone := "+15005550000"
	var ids []string
	for range 4 {
		v := s.start(t, s.limited, map[string]any{"kind": "signup", "to": map[string]string{"phone": phone}, "max_checks": 10, "supersede": false})
		ids = append(ids, v.ID)
	}
	counted, refused := 0, 0
	for i := range 40 {
		r := s.call(t, "POST", "/v1/verifications/"+ids[i%len(ids)]+"/check", s.limited, map[string]string{"code": fmt.Sprintf("%06d", 900000+i)})
		switch r.Status {
		case http.StatusOK:
			if v := r.verification(t); v.Status == "pending" || v.Status == "max_checks_reached" {
				counted++
			}
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Fatalf("check %d: %d %s", i, r.Status, r.Body)
		}
	}
	t.Logf("4 verifications × 10 checks offered: %d wrong guesses counted, %d refused", counted, refused)
	if counted != 10 || refused != 30 {
		t.Fatalf("guesses per destination not capped at 10: %d counted, %d refused", counted, refused)
	}
}

// TestFraudGuards: numbers the tenant may not send to are refused with 422
// naming the field; a burst of starts to one prefix is refused as SMS
// pumping.
func TestFraudGuards(t *testing.T) {
	s := need(t)
	for name, c := range map[string]struct {
		phone, code string
	}{
		"premium rate":        {"+19005551234", "number_type_not_allowed"},
		"country not allowed": {"+33612345678", "country_not_allowed"},
	} {
		r := s.call(t, "POST", "/v1/verifications", s.limited, map[string]any{"kind": "two_factor", "to": map[string]string{"phone": c.phone}})
		if p := r.problem(t); r.Status != http.StatusUnprocessableEntity || p.Code != c.code || len(p.Errors) == 0 || p.Errors[0].Field != "to.phone" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	// Distinct numbers, one prefix (+39 333 5xx…): the 9th start is refused.
	for i := range 9 {
		r := s.call(t, "POST", "/v1/verifications", s.limited, map[string]any{"kind": "two_factor",
			"to": map[string]string{"phone": fmt.Sprintf("+3933350%05d", i)}})
		if i < 8 && r.Status != http.StatusCreated {
			t.Fatalf("start %d: %d %s", i, r.Status, r.Body)
		}
		if i == 8 {
			if p := r.problem(t); r.Status != http.StatusTooManyRequests || p.Code != "prefix_velocity" {
				t.Fatalf("burst: %d %s", r.Status, r.Body)
			}
		}
	}
	s.waitForEvent(t, "", "start_refused")
}
