package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/devstack"
	"github.com/veriflow/veriflow/internal/localpg"
	"github.com/veriflow/veriflow/internal/prismtest"
)

// stack is Veriflow running in process against a Temporal dev server with
// its Web UI, the UI decoding payloads through the API's codec server.
type stack struct {
	// APIURL is the API's base URL; UIURL the Temporal Web UI's.
	APIURL, UIURL string
	// Key is a test-mode API key of Tenant.
	Key, Tenant string
	// codecCalls counts the codec server requests that came from the UI's
	// origin and were answered 200.
	codecCalls atomic.Int64
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// startStack starts Postgres (localpg.ForTest), a Temporal dev server with
// the UI on a free port, and Veriflow's worker and API, all stopped when
// the test ends. Without the Temporal CLI it skips, unless
// VERIFLOW_REQUIRE_TEMPORAL=1.
func startStack(t *testing.T) *stack {
	t.Helper()
	logs := &prismtest.SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service and Temporal logs (tail):\n%s", tail(logs.String(), 8000))
		}
	})

	// Postgres first: a port FreePort hands out is free only until someone
	// binds it, and the cluster picks its own (CI once gave both the same).
	dbURL := localpg.ForTest(t)
	uiPort, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	uiOrigin := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(uiPort))
	s := &stack{Tenant: "ui_" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	dev, err := devstack.Start(t.Context(), devstack.Options{
		DatabaseURL: dbURL, UIPort: uiPort, Log: log, TemporalOutput: logs,
		// The API's handler is wrapped to count the codec calls the UI makes.
		HTTPHandler: func(h http.Handler) http.Handler { return s.countCodecCalls(h, uiOrigin) },
	})
	if errors.Is(err, devstack.ErrNoTemporalCLI) && os.Getenv("VERIFLOW_REQUIRE_TEMPORAL") != "1" {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatalf("stack: %v", err)
	}
	t.Cleanup(func() {
		if err := dev.Close(); err != nil {
			t.Errorf("stack: %v", err)
		}
	})
	if dev.UIURL != uiOrigin {
		t.Fatalf("Temporal UI at %s, want %s", dev.UIURL, uiOrigin)
	}
	s.APIURL, s.UIURL = dev.URL, dev.UIURL
	if s.Key, err = dev.CreateKey(t.Context(), s.Tenant, contract.ModeTest); err != nil {
		t.Fatal(err)
	}
	return s
}

// countCodecCalls counts successful codec requests carrying the UI's
// Origin: the proof that the browser, not this test, decoded payloads.
func (s *stack) countCodecCalls(next http.Handler, uiOrigin string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/codec/") || r.Method != http.MethodPost || r.Header.Get("Origin") != uiOrigin {
			next.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusOK {
			s.codecCalls.Add(1)
		}
	})
}

// statusRecorder remembers the status code written through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// call sends a JSON request to the API with the stack's key and decodes a
// 2xx answer into out (when not nil).
func (s *stack) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.APIURL+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode %s: %w", method, path, b, err)
	}
	return nil
}

// verification is the part of the API's verification object the test reads.
type verification struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Status   string `json:"status"`
	Attempts []struct {
		Channel string `json:"channel"`
		Status  string `json:"status"`
		Error   string `json:"error"`
	} `json:"attempts"`
}

// approve starts a verification with body and drives it to approved: it
// reads the code from the sandbox (test keys deliver there) and checks it.
func (s *stack) approve(ctx context.Context, body map[string]any, phone string) (verification, error) {
	var v verification
	if err := s.call(ctx, http.MethodPost, "/v1/verifications", body, &v); err != nil {
		return v, err
	}
	code, err := s.sandboxCode(ctx, phone, v.ID)
	if err != nil {
		return v, err
	}
	if err := s.call(ctx, http.MethodPost, "/v1/verifications/"+v.ID+"/check", map[string]string{"code": code}, &v); err != nil {
		return v, err
	}
	if v.Status != "approved" {
		return v, fmt.Errorf("check with the sandbox code: status %q, want approved", v.Status)
	}
	return v, nil
}

// sandboxCode polls the sandbox messages to phone until one of
// verification id arrives, and returns its code.
func (s *stack) sandboxCode(ctx context.Context, phone, id string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		var out struct {
			Messages []struct {
				VerificationID string `json:"verification_id"`
				Code           string `json:"code"`
			} `json:"messages"`
		}
		if err := s.call(ctx, http.MethodGet, "/v1/sandbox/messages?to="+url.QueryEscape(phone), nil, &out); err != nil {
			return "", err
		}
		for _, m := range out.Messages {
			if m.VerificationID == id && m.Code != "" {
				return m.Code, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no sandbox message for %s: %w", id, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// repoRoot returns the directory holding go.mod, searching upwards from
// the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
