// Package prismtest runs a Stoplight Prism mock server for tests, so that
// provider adapters can be checked against the provider's own OpenAPI spec.
//
// Prism runs with --errors: a request that violates the spec gets a 4xx
// answer (422 for a body or parameter that does not validate, 401 for
// missing credentials, 404 for an unknown path), so a 2xx proves that the
// request has the shape the spec asks for. Prism's own output, which holds
// its validation messages, is logged when the test fails.
//
// Prism is found by Find. When it (or a spec) is missing the test is skipped,
// unless VERIFLOW_REQUIRE_PRISM=1, in which case it fails.
package prismtest

import (
	"bytes"
	"compress/gzip"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// readyTimeout bounds how long Start waits for Prism to listen (Prism
	// takes a few seconds to load a large spec).
	readyTimeout = 60 * time.Second
	// stopTimeout is how long Prism gets to exit after SIGTERM before SIGKILL.
	stopTimeout = 5 * time.Second
	// startAttempts is how often Start retries when Prism exits at once
	// (for example because another process took the free port first).
	startAttempts = 3
)

// localPrism is where `npm install` in .dev/node puts the Prism CLI,
// relative to the repository root.
const localPrism = ".dev/node/node_modules/.bin/prism"

// ErrNotFound is returned by Find when no Prism CLI can be found.
var ErrNotFound = errors.New("prismtest: prism CLI not found")

// Find returns the path of the Prism CLI: $VERIFLOW_PRISM if set, else
// .dev/node/node_modules/.bin/prism in the working directory or one of its
// parents, else prism on PATH. The error wraps ErrNotFound when there is none.
func Find() (string, error) {
	if p := os.Getenv("VERIFLOW_PRISM"); p != "" {
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("%w: VERIFLOW_PRISM=%s: %w", ErrNotFound, p, err)
		}
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("prismtest: working directory: %w", err)
	}
	if p, ok := findUp(wd, filepath.FromSlash(localPrism)); ok && checkExecutable(p) == nil {
		return p, nil
	}
	p, err := exec.LookPath("prism")
	if err != nil {
		return "", fmt.Errorf("%w (set VERIFLOW_PRISM, or run npm install @stoplight/prism-cli in .dev/node): %w", ErrNotFound, err)
	}
	return p, nil
}

// SpecPath writes the vendored provider spec name (a copy of
// ../shared/specs/name, see specs/README.md) into the test's temp dir and
// returns its path.
func SpecPath(t testing.TB, name string) string {
	t.Helper()
	gz, err := specs.Open("specs/" + name + ".gz")
	if err != nil {
		t.Fatalf("prismtest: no vendored spec %s: %v", name, err)
	}
	defer func() { _ = gz.Close() }()
	zr, err := gzip.NewReader(gz)
	if err != nil {
		t.Fatalf("prismtest: spec %s: %v", name, err)
	}
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, zr); err != nil {
		t.Fatalf("prismtest: spec %s: %v", name, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// specs holds the providers' OpenAPI specs, vendored from ../shared/specs
// (see specs/README.md), so the contract tests run on any clone.
//
//go:embed specs/*.gz
var specs embed.FS

// Start starts `prism mock --errors` on a free port of 127.0.0.1 serving the
// spec at specPath, waits until it answers, and returns its base URL
// ("http://127.0.0.1:PORT"). Prism (its whole process group) is stopped
// when the test ends; its output is logged if the test failed. Without a
// Prism CLI the test is skipped, or fails if VERIFLOW_REQUIRE_PRISM=1.
func Start(t testing.TB, specPath string) string {
	t.Helper()
	bin, err := Find()
	if err != nil {
		skipOrFail(t, err.Error())
	}
	if _, err := os.Stat(specPath); err != nil {
		t.Fatalf("prismtest: spec: %v", err)
	}

	var lastErr error
	for range startAttempts {
		s, err := start(bin, specPath)
		if err != nil {
			lastErr = err
			continue
		}
		t.Cleanup(func() {
			if err := s.stop(); err != nil {
				t.Logf("prismtest: stop prism: %v", err)
			}
			if t.Failed() {
				t.Logf("prismtest: prism output (%s):\n%s", s.url, requestLog(s.out.String()))
			}
		})
		return s.url
	}
	t.Fatalf("prismtest: %v", lastErr)
	return ""
}

// server is one running Prism process.
type server struct {
	cmd  *exec.Cmd
	url  string
	out  *SyncBuffer
	done chan struct{} // closed when the process has exited
}

// start runs Prism once on a free port and waits until it answers. On
// failure the process is stopped and the error carries Prism's output.
func start(bin, specPath string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	out := &SyncBuffer{}
	cmd := exec.Command(bin, "mock",
		"-h", "127.0.0.1",
		"-p", strconv.Itoa(port),
		"--errors",
		specPath,
	)
	cmd.Stdout = out
	cmd.Stderr = out
	// Do not let a stray grandchild holding the output pipe block Wait.
	cmd.WaitDelay = stopTimeout
	// Own process group so stop kills Prism and any child it forks; SIGKILL
	// if the test binary dies so Prism is never orphaned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{
		cmd:  cmd,
		url:  "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		out:  out,
		done: make(chan struct{}),
	}
	go func() {
		_ = cmd.Wait() // the exit status is reported through done and the output
		close(s.done)
	}()

	if err := s.waitReady(port); err != nil {
		stopErr := s.stop()
		return nil, fmt.Errorf("%w\nprism output:\n%s", errors.Join(err, stopErr), out.String())
	}
	return s, nil
}

// waitReady waits until the port accepts connections, Prism exits, or
// readyTimeout passes.
func (s *server) waitReady(port int) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close() // a probe connection: nothing was sent
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("prism exited before listening on %s", addr)
		case <-deadline.C:
			return fmt.Errorf("prism not listening on %s after %s: %w", addr, readyTimeout, err)
		case <-tick.C:
		}
	}
}

// stop ends Prism's process group: SIGTERM, then SIGKILL after stopTimeout.
func (s *server) stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	pgid := s.cmd.Process.Pid // Setpgid: the group id is the leader's pid
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d: %w", pgid, err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-s.done:
		return nil
	case <-timer.C:
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", pgid, err)
	}
	<-s.done
	return nil
}

// listeningMark is the line Prism logs once it serves requests.
const listeningMark = "Prism is listening on"

// requestLog returns Prism's output from its "listening" line on: the
// requests and their validation messages, without the list of every
// operation of the spec Prism prints at startup.
func requestLog(out string) string {
	i := strings.Index(out, listeningMark)
	if i < 0 {
		return out
	}
	if nl := strings.LastIndexByte(out[:i], '\n'); nl >= 0 {
		i = nl + 1
	} else {
		i = 0
	}
	if i == 0 {
		return out
	}
	return "(startup list of the spec's operations omitted)\n" + out[i:]
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}

// findUp looks for rel in dir and each of its parents.
func findUp(dir, rel string) (string, bool) {
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// checkExecutable reports why path is not an executable regular file.
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s: %w", path, fs.ErrPermission)
	}
	return nil
}

// skipOrFail skips t, or fails it when VERIFLOW_REQUIRE_PRISM=1.
func skipOrFail(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("VERIFLOW_REQUIRE_PRISM") == "1" {
		t.Fatalf("prismtest: VERIFLOW_REQUIRE_PRISM=1 but: %s", why)
	}
	t.Skipf("prismtest: skipping: %s", why)
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers and readers
// (Prism's stdout and stderr copiers and the test; a logger and a test).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
