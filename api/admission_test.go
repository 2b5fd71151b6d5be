package api

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// admissionEngine serves GET /slow through an admitter of a; the handler
// holds its slot until release is closed (or answers at once when nil).
func admissionEngine(a Admission, entered chan<- struct{}, release <-chan struct{}) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/slow", newAdmitter(a).check, func(c *gin.Context) {
		if entered != nil {
			entered <- struct{}{}
		}
		if release != nil {
			<-release
		}
		c.Status(http.StatusNoContent)
	})
	return e
}

func serve(e *gin.Engine) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/slow", nil))
	return w
}

func TestAdmissionShedsPastTheLine(t *testing.T) {
	entered, release := make(chan struct{}, 4), make(chan struct{})
	e := admissionEngine(Admission{MaxInFlight: 1, QueueWait: 20 * time.Millisecond, RetryAfter: 2}, entered, release)
	var wg sync.WaitGroup
	var first *httptest.ResponseRecorder
	wg.Go(func() { first = serve(e) })
	<-entered // the one slot is held
	shed := serve(e)
	if shed.Code != http.StatusServiceUnavailable || shed.Header().Get("Retry-After") != "2" {
		t.Fatalf("past the slot and the wait: %d, Retry-After %q, want 503 and 2", shed.Code, shed.Header().Get("Retry-After"))
	}
	if ct := shed.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("shed answer's Content-Type %q", ct)
	}
	close(release)
	wg.Wait()
	if first.Code != http.StatusNoContent {
		t.Fatalf("the admitted request: %d", first.Code)
	}
}

func TestAdmissionQueuedRequestGetsTheFreedSlot(t *testing.T) {
	entered, release := make(chan struct{}, 4), make(chan struct{})
	e := admissionEngine(Admission{MaxInFlight: 1, QueueWait: 10 * time.Second}, entered, release)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	wg.Go(func() { codes[0] = serve(e).Code })
	<-entered
	wg.Go(func() { codes[1] = serve(e).Code }) // waits in line
	select {
	case <-entered:
		t.Fatal("a second request entered while the one slot was held")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-entered // the waiter got the slot once it was freed
	wg.Wait()
	if codes[0] != http.StatusNoContent || codes[1] != http.StatusNoContent {
		t.Fatalf("codes %v, want both 204", codes)
	}
}

func TestAdmissionUnbounded(t *testing.T) {
	if newAdmitter(Admission{MaxInFlight: -1}) != nil {
		t.Fatal("a negative MaxInFlight must be unbounded")
	}
	if w := serve(admissionEngine(Admission{MaxInFlight: -1}, nil, nil)); w.Code != http.StatusNoContent {
		t.Fatalf("unbounded: %d", w.Code)
	}
}

func TestAdmissionShedsStartsWhileChecksHoldHalfTheSlots(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	a := newAdmitter(Admission{MaxInFlight: 4, QueueWait: time.Millisecond})
	entered, release := make(chan struct{}, 4), make(chan struct{})
	e := gin.New()
	e.GET("/check", a.check, func(c *gin.Context) { entered <- struct{}{}; <-release; c.Status(http.StatusNoContent) })
	e.GET("/start", a.start, func(c *gin.Context) { c.Status(http.StatusCreated) })
	get := func(path string) int {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w.Code
	}
	if code := get("/start"); code != http.StatusCreated {
		t.Fatalf("a start with no checks in flight: %d", code)
	}
	var wg sync.WaitGroup
	for range 2 { // half of the 4 slots
		wg.Go(func() { get("/check") })
		<-entered
	}
	if code := get("/start"); code != http.StatusServiceUnavailable {
		t.Errorf("a start while checks hold half the slots: %d, want 503", code)
	}
	close(release)
	wg.Wait()
	if code := get("/start"); code != http.StatusCreated {
		t.Errorf("a start once the checks finished: %d", code)
	}
}
