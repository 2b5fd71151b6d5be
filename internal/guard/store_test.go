package guard

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/store"
	"github.com/veriflow/veriflow/internal/store/storetest"
)

// nsStore gives each subtest its own namespace in one shared database by
// prefixing every scope.
type nsStore struct {
	st *store.Store
	ns string
}

func (n nsStore) Hit(ctx context.Context, hits []store.LimitHit) (store.LimitResult, error) {
	in := make([]store.LimitHit, len(hits))
	for i, h := range hits {
		h.Scope = n.ns + h.Scope
		in[i] = h
	}
	res, err := n.st.Hit(ctx, in)
	res.Scope = strings.TrimPrefix(res.Scope, n.ns)
	for i, s := range res.Exceeded {
		res.Exceeded[i] = strings.TrimPrefix(s, n.ns)
	}
	return res, err
}

func (n nsStore) Peek(ctx context.Context, h store.LimitHit) (int, time.Duration, error) {
	h.Scope = n.ns + h.Scope
	return n.st.Peek(ctx, h)
}

func TestGuardPostgres(t *testing.T) {
	st := storetest.Open(t)
	var _ LimitStore = st // *store.Store is a LimitStore
	n := 0
	guardTests(t, func(*testing.T) LimitStore {
		n++
		return nsStore{st: st, ns: fmt.Sprintf("t%d/", n)}
	})
}
