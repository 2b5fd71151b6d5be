package api

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// Admission bounds the starts and checks this process works on at once, so
// that offered load past saturation waits outside (a 503 with Retry-After,
// honoured by well-behaved callers) instead of inside Temporal's task
// queues, where every extra verification in flight makes the next one
// dearer (a check that arrives before delivery records a version marker,
// an upsert and a projection of its own). Measured in docs/performance.md.
type Admission struct {
	// MaxInFlight is how many starts and checks run at once (0: the
	// default, DefaultMaxInFlight; negative: unbounded).
	MaxInFlight int
	// QueueWait is how long a request waits for a slot before it is shed
	// (0: the default, 250 ms).
	QueueWait time.Duration
	// RetryAfter is the Retry-After of a shed request, in seconds (0: 1).
	RetryAfter int
}

// DefaultMaxInFlight is Admission.MaxInFlight's default. At 64 callers on
// the bench's two cores, 64 slots shed a tenth as many requests as 32 did
// (22–32 against 217–225 in 15 s) for 3 % more throughput, and hold the
// same throughput at 128 callers (docs/performance.md); unbounded, the
// throughput at 128 callers falls by a seventh.
const DefaultMaxInFlight = 64

// admitter is Admission at work: a slot per request in flight, and a
// bounded line of requests waiting for one. Checks come first: a start is
// shed at once while half the slots or more hold checks, since checks
// piling up mean the workflows are behind (a check waits in its workflow
// for a send still queued), and a new verification would only deepen the
// backlog its own check then waits in.
type admitter struct {
	slots      chan struct{}
	waiting    chan struct{}
	checks     atomic.Int64 // checks holding a slot
	checkHigh  int64
	wait       time.Duration
	retryAfter int
}

// newAdmitter returns the admitter of a, or nil when a is unbounded.
func newAdmitter(a Admission) *admitter {
	if a.MaxInFlight < 0 {
		return nil
	}
	n := a.MaxInFlight
	if n == 0 {
		n = DefaultMaxInFlight
	}
	wait := a.QueueWait
	if wait <= 0 {
		wait = 250 * time.Millisecond
	}
	return &admitter{slots: make(chan struct{}, n), waiting: make(chan struct{}, n), checkHigh: int64(max(n/2, 1)), wait: wait,
		retryAfter: max(a.RetryAfter, 1)}
}

// start and check are the middlewares of the routes they bound (nil: no
// bound).
func (a *admitter) start(c *gin.Context) { a.admit(c, false) }
func (a *admitter) check(c *gin.Context) { a.admit(c, true) }

// admit runs the rest of the chain within a slot, waits up to the queue
// wait for one (at most as many waiters as slots), or answers 503
// unavailable with Retry-After. A start is shed at once while the checks
// hold half the slots.
func (a *admitter) admit(c *gin.Context, check bool) {
	if a == nil {
		c.Next()
		return
	}
	if !check && a.checks.Load() >= a.checkHigh {
		a.shed(c)
		return
	}
	select {
	case a.slots <- struct{}{}:
	default:
		if !a.await(c) {
			a.shed(c)
			return
		}
	}
	defer func() { <-a.slots }()
	if check {
		a.checks.Add(1)
		defer a.checks.Add(-1)
	}
	c.Next()
}

// shed answers 503 unavailable with Retry-After.
func (a *admitter) shed(c *gin.Context) {
	p := problem(http.StatusServiceUnavailable, CodeUnavailable, "Veriflow is at capacity; retry after the Retry-After header's seconds.")
	p.RetryAfter = a.retryAfter
	writeProblem(c, p)
}

// await queues for a slot; it reports whether it got one.
func (a *admitter) await(c *gin.Context) bool {
	select {
	case a.waiting <- struct{}{}:
	default:
		return false // the line is full
	}
	defer func() { <-a.waiting }()
	t := time.NewTimer(a.wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-c.Request.Context().Done():
		return false
	}
}
