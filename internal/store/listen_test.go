package store

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/localpg"
)

// TestListenAPIKeys: the listener survives its idle heartbeats on one
// connection (no reconnection: ready once, no error) and receives the
// notifications of CreateAPIKey and RevokeAPIKey, in order, with the
// key's id.
func TestListenAPIKeys(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, localpg.ForTest(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const heartbeat = 200 * time.Millisecond
	var readies atomic.Int32
	got := make(chan string, 8)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- s.ListenAPIKeys(lctx, heartbeat, func() { readies.Add(1) }, func(p string) { got <- p })
	}()
	// Ten heartbeats with nothing to deliver: the listener must still be
	// on its first connection afterwards (waiting for nothing to happen).
	select {
	case err := <-done:
		t.Fatalf("the listener ended while idle: %v", err)
	case <-time.After(10 * heartbeat):
	}
	if n := readies.Load(); n != 1 {
		t.Fatalf("ready called %d times, want 1", n)
	}
	if err := s.EnsureTenant(ctx, "acme", "acme"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIKey(ctx, APIKey{ID: "abcdefghijkl", TenantID: "acme", Mode: contract.ModeLive, SecretHash: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, "abcdefghijkl"); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, "nosuchkey"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking an unknown key: %v, want ErrNotFound", err)
	}
	if err := s.CreateAPIKey(ctx, APIKey{ID: "abcdefghijkl", TenantID: "other", Mode: contract.ModeLive, SecretHash: []byte{1}}); err == nil {
		t.Fatal("a taken id was created again for another tenant")
	}
	for _, want := range []string{"abcdefghijkl", "abcdefghijkl"} {
		select {
		case p := <-got:
			if p != want {
				t.Fatalf("payload %q, want %q", p, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no notification")
		}
	}
	select {
	case p := <-got:
		t.Fatalf("an unexpected notification %q (a refused create or an unknown revoke notified)", p)
	case <-time.After(5 * heartbeat):
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("ListenAPIKeys returned %v after its context ended, want context.Canceled", err)
	}
}

// TestListenAPIKeysHeartbeatFails: a listener whose heartbeat cannot go
// round (here: the pool that sends it is closed) ends with an error within
// two heartbeats, so its cache stops serving.
func TestListenAPIKeysHeartbeatFails(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, localpg.ForTest(t))
	if err != nil {
		t.Fatal(err)
	}
	const heartbeat = 200 * time.Millisecond
	done := make(chan error, 1)
	readyc := make(chan struct{})
	go func() { done <- s.ListenAPIKeys(ctx, heartbeat, func() { close(readyc) }, func(string) {}) }()
	<-readyc
	s.Close()
	select {
	case err := <-done:
		if err == nil || ctx.Err() != nil {
			t.Fatalf("ListenAPIKeys: %v, want a heartbeat error", err)
		}
		t.Logf("ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the listener outlived its failed heartbeats")
	}
}
