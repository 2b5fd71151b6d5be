package chaos

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/events"
)

// receiver is the tenant's callback endpoint: it checks every signature,
// refuses one delivery in five with a 500 (so deliveries are retried), and
// counts what it accepted per event id.
type receiver struct {
	server   *httptest.Server
	mu       sync.Mutex
	secrets  []string // the tenants' callback secrets, added once registered
	accepted map[string]int
	bad      atomic.Int64
	refused  atomic.Int64
	calls    atomic.Int64
}

func newReceiver() *receiver {
	r := &receiver{accepted: map[string]int{}}
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := r.calls.Add(1)
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil || !r.verify(req.Header.Get("Veriflow-Signature"), body) {
			r.bad.Add(1)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if n%5 == 0 {
			r.refused.Add(1)
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		r.mu.Lock()
		r.accepted[req.Header.Get("Veriflow-Event-Id")]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	return r
}

// addSecret adds a tenant's callback secret.
func (r *receiver) addSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = append(r.secrets, s)
}

// verify reports whether one of the tenants' secrets signed body.
func (r *receiver) verify(header string, body []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.secrets {
		if events.Verify(s, header, body, time.Now(), 5*time.Minute) == nil {
			return true
		}
	}
	return false
}

// eventFigures are the outbound events as Postgres and the receiver see them.
type eventFigures struct {
	queued, delivered, pending int
	received, distinct, lost   int
}

// events waits (bounded) until no event is pending, then counts.
func (r *receiver) events(ctx context.Context, conn *pgx.Conn, wait time.Duration) (eventFigures, error) {
	var f eventFigures
	deadline := time.Now().Add(wait)
	for {
		err := conn.QueryRow(ctx, `select count(*), count(*) filter (where status = 'delivered'), count(*) filter (where status = 'pending') from outbound_events`).
			Scan(&f.queued, &f.delivered, &f.pending)
		if err != nil {
			return f, err
		}
		if f.pending == 0 || time.Now().After(deadline) {
			break
		}
		sleepCtx(ctx, time.Second)
	}
	rows, err := conn.Query(ctx, `select 'evt_' || id from outbound_events`)
	if err != nil {
		return f, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return f, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.accepted {
		f.received += n
	}
	f.distinct = len(r.accepted)
	for _, id := range ids {
		if r.accepted[id] == 0 {
			f.lost++
		}
	}
	return f, nil
}
