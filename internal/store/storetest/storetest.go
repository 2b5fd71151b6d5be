// Package storetest gives tests a migrated store on a throwaway PostgreSQL
// cluster (internal/localpg), closed when the test ends.
package storetest

import (
	"testing"

	"github.com/veriflow/veriflow/internal/localpg"
	"github.com/veriflow/veriflow/internal/store"
)

// Open returns a migrated store on a fresh database (localpg.ForTest: it
// skips without PostgreSQL unless VERIFLOW_REQUIRE_POSTGRES=1).
func Open(t testing.TB) *store.Store {
	t.Helper()
	return OpenURL(t, localpg.ForTest(t))
}

// OpenURL returns a migrated store on the database at url.
func OpenURL(t testing.TB, url string) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}
