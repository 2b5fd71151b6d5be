package e2e

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/events"
)

// eventReceiver is a product backend's callback: it verifies each
// signature with the secret, refuses the first failFirst valid deliveries
// with 500, and keeps the accepted ones deduplicated by Veriflow-Event-Id.
type eventReceiver struct {
	mu        sync.Mutex
	secret    string
	failFirst int
	bad       int
	accepted  map[string]int // event id → valid deliveries acknowledged
	bodies    map[string]events.Event
}

func (rc *eventReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	id := r.Header.Get("Veriflow-Event-Id")
	var ev events.Event
	if err != nil || rc.secret == "" || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		events.Verify(rc.secret, r.Header.Get("Veriflow-Signature"), body, time.Now(), 5*time.Minute) != nil ||
		json.Unmarshal(body, &ev) != nil || ev.ID != id {
		rc.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if rc.failFirst > 0 {
		rc.failFirst--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	rc.accepted[id]++
	rc.bodies[id] = ev
	w.WriteHeader(http.StatusNoContent)
}

// types returns the accepted events' types in the order of their versions.
func (rc *eventReceiver) types() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	evs := make([]events.Event, 0, len(rc.bodies))
	for _, e := range rc.bodies {
		evs = append(evs, e)
	}
	// Deliveries and even ids may be out of order: the version orders them
	// (within one projection, by id).
	slices.SortFunc(evs, func(a, b events.Event) int {
		x, _ := events.ParseEventID(a.ID)
		y, _ := events.ParseEventID(b.ID)
		if a.Version != b.Version {
			return int(a.Version - b.Version)
		}
		return int(x - y)
	})
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Type))
	}
	return out
}

type listedEvent struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	LastStatus  *int       `json:"last_status"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
}

func (s *stack) listEvents(t *testing.T, key, id string) []listedEvent {
	t.Helper()
	r := s.call(t, "GET", "/v1/verifications/"+id+"/events", key, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list events: %d %s", r.Status, r.Body)
	}
	var out struct {
		Events []listedEvent `json:"events"`
	}
	r.decode(t, &out)
	return out.Events
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEventsCallback(t *testing.T) {
	s := need(t)
	// A tenant of its own, so the suite's other verifications send it nothing.
	k := s.newTenantKey(t, "hooks")

	rc := &eventReceiver{failFirst: 2, accepted: map[string]int{}, bodies: map[string]events.Event{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	// Registration: validation, then the secret shown once.
	if r := s.call(t, "GET", "/v1/callback", k, nil); r.Status != http.StatusNotFound {
		t.Fatalf("callback before PUT: %d %s", r.Status, r.Body)
	}
	for _, body := range []any{map[string]string{"url": "http://hooks.example.com/x"}, map[string]string{"url": "ftp://x"},
		map[string]any{"url": srv.URL, "extra": 1}, `{"url":`} {
		if r := s.call(t, "PUT", "/v1/callback", k, body); r.Status != http.StatusBadRequest || r.problem(t).Code != "invalid_request" {
			t.Fatalf("PUT %v: %d %s", body, r.Status, r.Body)
		}
	}
	r := s.call(t, "PUT", "/v1/callback", k, map[string]string{"url": srv.URL + "/old"})
	if r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	var first struct{ URL, Secret string }
	r.decode(t, &first)
	// PUT again rotates the secret.
	r = s.call(t, "PUT", "/v1/callback", k, map[string]string{"url": srv.URL + "/veriflow"})
	var reg struct{ URL, Secret string }
	r.decode(t, &reg)
	if r.Status != http.StatusOK || reg.URL != srv.URL+"/veriflow" || len(reg.Secret) != 64 || reg.Secret == first.Secret {
		t.Fatalf("PUT again: %d %s", r.Status, r.Body)
	}
	rc.mu.Lock()
	rc.secret = reg.Secret
	rc.mu.Unlock()
	t.Cleanup(func() {
		// Stops any delivery still retrying (no callback: given up).
		s.call(t, "DELETE", "/v1/callback", k, nil)
	})
	r = s.call(t, "GET", "/v1/callback", k, nil)
	if r.Status != http.StatusOK || strings.Contains(string(r.Body), reg.Secret) || !strings.Contains(string(r.Body), "/veriflow") {
		t.Fatalf("GET callback: %d %s", r.Status, r.Body)
	}

	// A verification to approved.
	email := "hooks-" + strings.ToLower(rand.Text()[:8]) + "@example.com"
	v := s.start(t, k, map[string]any{"kind": "password_reset", "to": map[string]string{"email": email}})
	code := s.sandboxCodeEventually(t, k, email, v.ID)
	s.waitFor(t, k, v.ID, 20*time.Second, "delivered", func(v verification) bool {
		return len(v.Attempts) > 0 && v.Attempts[0].Status == "delivered"
	})
	if r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/check", k, map[string]string{"code": code}); r.Status != 200 || r.verification(t).Status != "approved" {
		t.Fatalf("check: %d %s", r.Status, r.Body)
	}

	want := []string{"sent", "delivered", "approved"}
	deadline := time.Now().Add(60 * time.Second)
	for !slices.Equal(rc.types(), want) {
		if time.Now().After(deadline) {
			rc.mu.Lock()
			bad := rc.bad
			rc.mu.Unlock()
			var logs []string
			for line := range strings.SplitSeq(s.logs.String(), "\n") {
				if strings.Contains(line, "event") && strings.Contains(line, v.ID) {
					logs = append(logs, line)
				}
			}
			t.Fatalf("callback got %v (%d bad), want %v; API lists %+v; logs:\n%s", rc.types(), bad, want, s.listEvents(t, k, v.ID), strings.Join(logs, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	rc.mu.Lock()
	if rc.bad != 0 {
		t.Fatalf("%d deliveries with a bad signature", rc.bad)
	}
	for id, e := range rc.bodies {
		if e.VerificationID != v.ID || e.Data.Status == "" || len(e.Data.Attempts) == 0 {
			t.Fatalf("event %s: %+v", id, e)
		}
	}
	approvedBody := rc.bodies[func() string {
		for id, e := range rc.bodies {
			if e.Type == "approved" {
				return id
			}
		}
		return ""
	}()]
	rc.mu.Unlock()
	if approvedBody.Data.Status != "approved" || approvedBody.Data.Channel != "email" {
		t.Fatalf("approved event: %+v", approvedBody)
	}

	// The API lists them: all delivered, the two refused attempts recorded.
	var evs []listedEvent
	eventually(t, 10*time.Second, "all events delivered in the API", func() bool {
		evs = s.listEvents(t, k, v.ID)
		return len(evs) == 3 && !slices.ContainsFunc(evs, func(e listedEvent) bool { return e.Status != "delivered" })
	})
	attempts := 0
	for i, e := range evs {
		if e.Type != want[i] || e.Attempts < 1 || e.LastStatus == nil || *e.LastStatus != http.StatusNoContent || e.DeliveredAt == nil {
			t.Fatalf("listed event %d: %+v", i, e)
		}
		attempts += e.Attempts
	}
	if attempts != 5 {
		t.Fatalf("attempts %d, want 3 deliveries + 2 refused: %+v", attempts, evs)
	}

	if id, ok := events.ParseEventID(evs[0].ID); ok {
		s.recordWorkflowHistory(t, "deliver_event_retried", events.WorkflowID(v.ID, id))
	}

	// Another tenant sees none of it.
	if r := s.call(t, "GET", "/v1/verifications/"+v.ID+"/events", s.globex, nil); r.Status != http.StatusNotFound {
		t.Fatalf("other tenant lists: %d %s", r.Status, r.Body)
	}
	approved := evs[2]
	if r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/events/"+approved.ID+"/resend", s.globex, nil); r.Status != http.StatusNotFound {
		t.Fatalf("other tenant resends: %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/events/evt_999999999/resend", k, nil); r.Status != http.StatusNotFound {
		t.Fatalf("resend unknown event: %d %s", r.Status, r.Body)
	}

	// Resend: delivered again.
	r = s.call(t, "POST", "/v1/verifications/"+v.ID+"/events/"+approved.ID+"/resend", k, nil)
	if r.Status != http.StatusAccepted {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	eventually(t, 30*time.Second, "the resent event", func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return rc.accepted[approved.ID] == 2
	})
	eventually(t, 10*time.Second, "the resent event delivered in the API", func() bool {
		e := s.listEvents(t, k, v.ID)[2]
		return e.Status == "delivered" && e.Attempts == approved.Attempts+1
	})

	// Unregister.
	if r := s.call(t, "DELETE", "/v1/callback", k, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "GET", "/v1/callback", k, nil); r.Status != http.StatusNotFound {
		t.Fatalf("GET after DELETE: %d %s", r.Status, r.Body)
	}
	if r := s.call(t, "POST", "/v1/verifications/"+v.ID+"/events/"+approved.ID+"/resend", k, nil); r.Status != http.StatusConflict {
		t.Fatalf("resend without callback: %d %s", r.Status, r.Body)
	}
}
