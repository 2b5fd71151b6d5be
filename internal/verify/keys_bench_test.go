package verify

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/keycache"
	"github.com/veriflow/veriflow/internal/localpg"
	"github.com/veriflow/veriflow/internal/store"
)

// countingTracer counts the queries a pool sends: database round trips.
type countingTracer struct{ n atomic.Int64 }

func (c *countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *countingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// BenchmarkAuthenticate is the authentication of one request with a valid
// key, read from Postgres every time (postgres) or from the replica's key
// cache (cache); it reports the database round trips per request.
//
//	VERIFLOW_REQUIRE_POSTGRES=1 go test ./internal/verify -run '^$' -bench Authenticate
func BenchmarkAuthenticate(b *testing.B) {
	url := localpg.ForTest(b)
	for _, cached := range []bool{false, true} {
		name := "postgres"
		if cached {
			name = "cache"
		}
		b.Run(name, func(b *testing.B) {
			tr := &countingTracer{}
			st, err := store.OpenTraced(b.Context(), url, tr)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if err := st.Migrate(b.Context()); err != nil {
				b.Fatal(err)
			}
			d := Deps{Store: st}
			if cached {
				d.Keys = keycache.New(keycache.Options{})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { defer close(done); _ = d.Keys.Run(ctx, st) }()
				defer func() { cancel(); <-done }()
				for !d.Keys.Live() {
					time.Sleep(time.Millisecond) // polling the listener's start
				}
			}
			s := New(d)
			k, err := s.CreateKey(b.Context(), "bench", contract.ModeLive, "")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Authenticate(b.Context(), k.String()); err != nil { // the first use's touch
				b.Fatal(err)
			}
			before := tr.n.Load()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Authenticate(b.Context(), k.String()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(tr.n.Load()-before)/float64(b.N), "db-round-trips/op")
		})
	}
}
