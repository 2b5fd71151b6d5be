package branding

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/messages"
	"github.com/veriflow/veriflow/internal/store"
)

// fakeStore serves rows and counts reads; err fails every read.
type fakeStore struct {
	rows  map[string]store.Branding
	err   error
	reads int
}

func (f *fakeStore) TenantBranding(_ context.Context, id string) (store.Branding, error) {
	f.reads++
	if f.err != nil {
		return store.Branding{}, f.err
	}
	b, ok := f.rows[id]
	if !ok {
		return store.Branding{}, store.ErrNotFound
	}
	return b, nil
}

func TestLayers(t *testing.T) {
	fs := &fakeStore{rows: map[string]store.Branding{
		"db":      {Name: "Stored Name", Origin: "stored.example"},
		"partial": {AppHash: "FA+9qCX9VSu"},
		"empty":   {},
	}}
	r := New(fs, Defaults{Name: "Example Pay", Tenants: map[string]store.Branding{
		"db":      {Name: "File Name", Origin: "file.example", AppHash: "abcdefghij0"},
		"partial": {Name: "Partial", Origin: "partial.example", AppHash: "abcdefghij0"},
	}})
	for tenant, want := range map[string]Brand{
		"db":      {Name: "Stored Name", Autofill: messages.Autofill{Origin: "stored.example", AppHash: "abcdefghij0"}},
		"partial": {Name: "Partial", Autofill: messages.Autofill{Origin: "partial.example", AppHash: "FA+9qCX9VSu"}},
		"empty":   {Name: "Example Pay"},
		"unknown": {Name: "Example Pay"},
	} {
		got, err := r.Lookup(t.Context(), tenant)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", tenant, got, err, want)
		}
	}
	if b, err := New(nil, Defaults{}).Lookup(t.Context(), "x"); err != nil || b != (Brand{Name: messages.DefaultBrand}) {
		t.Errorf("no store, no defaults: %+v %v", b, err)
	}
}

// TestCache shows a rename reaching the messages after TTL, one read per
// TTL, and a store failure served from an expired entry.
func TestCache(t *testing.T) {
	fs := &fakeStore{rows: map[string]store.Branding{"acme": {Name: "Acme"}}}
	r := New(fs, Defaults{})
	now := time.Unix(1_700_000_000, 0)
	r.now = func() time.Time { return now }
	lookup := func() Brand {
		t.Helper()
		b, err := r.Lookup(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	lookup()
	fs.rows["acme"] = store.Branding{Name: "Acme Bank"}
	now = now.Add(TTL - time.Second)
	if b := lookup(); b.Name != "Acme" || fs.reads != 1 {
		t.Fatalf("within TTL: %q after %d reads", b.Name, fs.reads)
	}
	now = now.Add(time.Second)
	if b := lookup(); b.Name != "Acme Bank" || fs.reads != 2 {
		t.Fatalf("after TTL: %q after %d reads", b.Name, fs.reads)
	}
	if TTL > time.Minute {
		t.Fatalf("TTL %v: a rename must show within a minute", TTL)
	}

	fs.err = errors.New("db down")
	now = now.Add(TTL)
	if b := lookup(); b.Name != "Acme Bank" {
		t.Fatalf("stale entry not served: %q", b.Name)
	}
	if _, err := r.Lookup(t.Context(), "other"); !errors.Is(err, fs.err) {
		t.Fatalf("uncached lookup with the store down: %v", err)
	}
}
