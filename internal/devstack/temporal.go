package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/veriflow/veriflow/internal/contract"
)

// TemporalCLIVersion is the pinned Temporal CLI version.
const TemporalCLIVersion = "v1.5.1"

// ErrNoTemporalCLI is returned when the Temporal CLI cannot be found.
var ErrNoTemporalCLI = errors.New("devstack: Temporal CLI not found; run `make temporal-cli` (builds " + TemporalCLIVersion + " into .dev/bin)")

// FindTemporalCLI returns the Temporal CLI to run: $VERIFLOW_TEMPORAL_CLI,
// else .dev/bin/temporal in the working directory or one of its parents
// (so tests in sub-packages find the repository's copy), else PATH.
func FindTemporalCLI() (string, error) {
	if p := os.Getenv("VERIFLOW_TEMPORAL_CLI"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err == nil {
		for {
			p := filepath.Join(dir, ".dev", "bin", "temporal")
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", ErrNoTemporalCLI
}

// TemporalOptions configures a Temporal dev server.
type TemporalOptions struct {
	// Addr is the frontend host:port; empty picks a free loopback port.
	Addr string
	// UIPort enables the Web UI on that port; 0 runs headless.
	UIPort int
	// DBFile persists the server's state; empty keeps it in memory.
	DBFile string
	// CodecEndpoint is the codec server the Web UI decodes payloads with.
	CodecEndpoint string
	// Fairness turns on task-queue fairness (matching.enableFairness):
	// tasks are dispatched in turn per fairness key (Veriflow sets the
	// tenant) instead of in arrival order.
	Fairness bool
	// Output receives the server's own log lines (nil discards them).
	Output io.Writer
	Log    *slog.Logger
}

// Temporal is a running Temporal dev server.
type Temporal struct {
	Addr  string
	UIURL string
	cmd   *exec.Cmd
	done  chan struct{}
}

// StartTemporal runs `temporal server start-dev` and waits until its
// frontend answers. The server runs in its own process group and dies with
// this process.
func StartTemporal(ctx context.Context, o TemporalOptions) (*Temporal, error) {
	path, err := FindTemporalCLI()
	if err != nil {
		return nil, err
	}
	if o.Addr == "" {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		o.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("devstack: temporal address %q: %w", o.Addr, err)
	}
	args := []string{"server", "start-dev", "--ip", host, "--port", port, "--namespace", "default",
		"--log-level", "warn", "--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true",
		// An activity scheduled on the worker's own task queue comes back
		// in the workflow task's completion (no trip through matching):
		// the check's Commit activity (docs/performance.md).
		"--dynamic-config-value", "system.enableActivityEagerExecution=true"}
	for _, sa := range contract.SearchAttributeNames() {
		args = append(args, "--search-attribute", sa+"=Keyword")
	}
	if o.Fairness {
		args = append(args, "--dynamic-config-value", "matching.enableFairness=true")
	}
	t := &Temporal{Addr: o.Addr, done: make(chan struct{})}
	if o.UIPort > 0 {
		args = append(args, "--ui-ip", host, "--ui-port", strconv.Itoa(o.UIPort))
		t.UIURL = "http://" + net.JoinHostPort(host, strconv.Itoa(o.UIPort))
	} else {
		args = append(args, "--headless")
	}
	if o.DBFile != "" {
		args = append(args, "--db-filename", o.DBFile)
	}
	if o.CodecEndpoint != "" && o.UIPort > 0 {
		args = append(args, "--ui-codec-endpoint", o.CodecEndpoint)
	}
	cmd := exec.Command(path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if o.Output != nil {
		cmd.Stdout, cmd.Stderr = o.Output, o.Output
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("devstack: start temporal: %w", err)
	}
	t.cmd = cmd
	go func() { _ = cmd.Wait(); close(t.done) }()
	if err := t.waitReady(ctx, o.Log); err != nil {
		t.Stop()
		return nil, err
	}
	return t, nil
}

func (t *Temporal) waitReady(ctx context.Context, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: t.Addr, Logger: tlog.NewStructuredLogger(log)})
		if err == nil {
			_, herr := c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if herr == nil {
				return nil
			}
			err = herr
		}
		select {
		case <-t.done:
			return fmt.Errorf("devstack: temporal exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("devstack: temporal not ready: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// PID returns the process id of the server (the leader of its process
// group); the benchmark reads its CPU time from /proc.
func (t *Temporal) PID() int { return t.cmd.Process.Pid }

// Kill stops the server at once (SIGKILL), as a crash would.
func (t *Temporal) Kill() {
	_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
	<-t.done
}

// Stop asks the server to shut down and kills it if it has not within 10 s.
func (t *Temporal) Stop() {
	_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-t.done:
	case <-time.After(10 * time.Second):
		t.Kill()
	}
}

// EnsureSearchAttributes registers Veriflow's search attributes in a
// namespace of an existing Temporal (the dev server registers them at
// start). Attributes that exist already are left alone.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("devstack: list search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for _, name := range contract.SearchAttributeNames() {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = enums.INDEXED_VALUE_TYPE_KEYWORD
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	if err != nil {
		return fmt.Errorf("devstack: add search attributes: %w", err)
	}
	return nil
}
