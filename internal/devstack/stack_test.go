package devstack

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/veriflow/veriflow/internal/config"
	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/localpg"
)

// TestStartBusyPort: a taken API address fails with ErrListen before
// anything is started.
func TestStartBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	_, err = Start(t.Context(), Options{HTTPAddr: ln.Addr().String()})
	if !errors.Is(err, ErrListen) || !strings.HasPrefix(err.Error(), "listen "+ln.Addr().String()+": ") {
		t.Fatalf("Start on a busy port: %v, want ErrListen", err)
	}
}

// TestStack starts the whole stack with its UI, authenticates with a key it
// created, sees the wrapper and Configure applied, then stops it: Wait
// returns when its context ends and Close leaves no server process behind.
func TestStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and PostgreSQL")
	}
	uiPort, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	var wrapped atomic.Int64
	var configuredURL string
	s, err := Start(t.Context(), Options{
		UIPort: uiPort,
		Log:    slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		HTTPHandler: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { wrapped.Add(1); h.ServeHTTP(w, r) })
		},
		Configure: func(c *config.Config, apiURL string) { configuredURL = apiURL },
	})
	switch {
	case errors.Is(err, localpg.ErrNoBinaries) && os.Getenv("VERIFLOW_REQUIRE_POSTGRES") != "1",
		errors.Is(err, ErrNoTemporalCLI) && os.Getenv("VERIFLOW_REQUIRE_TEMPORAL") != "1":
		t.Skip(err)
	case err != nil:
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = s.Close()
		}
	}()
	if configuredURL != s.URL || s.UIURL == "" || s.TemporalPID == 0 || s.PostgresPID == 0 {
		t.Fatalf("stack: URL %q (Configure saw %q), UI %q, PIDs %d/%d", s.URL, configuredURL, s.UIURL, s.TemporalPID, s.PostgresPID)
	}
	if origins := s.App.Config.CodecOrigins; len(origins) != 2 || origins[0] != s.UIURL {
		t.Errorf("codec origins %v, want the UI's %s", origins, s.UIURL)
	}
	if wrapped.Load() == 0 {
		t.Error("the /readyz wait did not go through the HTTPHandler wrapper")
	}

	key, err := s.CreateKey(t.Context(), "stack_test", contract.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		key          string
		unauthorized bool
	}{{key, false}, {"vf_test_aaaaaaaaaaaa_wrong", true}} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/v1/verifications/vf_01J0000000000000000000000", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+k.key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if (res.StatusCode == http.StatusUnauthorized) != k.unauthorized {
			t.Errorf("GET with key %.12s…: %d, unauthorized should be %v", k.key, res.StatusCode, k.unauthorized)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Wait(ctx); err != nil {
		t.Errorf("Wait: %v", err)
	}
	closed = true
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for _, pid := range []int{s.TemporalPID, s.PostgresPID} {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still there after Close (kill 0: %v)", pid, err)
		}
	}
	if res, err := http.Get(s.URL + "/healthz"); err == nil {
		_ = res.Body.Close()
		t.Error("the API still answers after Close")
	}
}
