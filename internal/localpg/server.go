package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// command builds a command for one of the server binaries, running as the
// service user when we are root.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Dir = c.root
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

func (c *Cluster) initdb(ctx context.Context) error {
	cmd := c.command(ctx, "initdb",
		"-D", c.dataDir,
		"-U", superuser,
		"--auth=trust",
		"--encoding=UTF8",
		"--locale=C",
		"--no-sync",
		"--no-instructions",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("localpg: initdb: %w\n%s", err, bytes.TrimSpace(out))
	}
	return nil
}

// startServer launches the postmaster and waits until it accepts
// connections. When port is 0 it picks free ports, retrying if another
// process grabs the port first.
func (c *Cluster) startServer(ctx context.Context, port int) error {
	attempts := 1
	if port == 0 {
		attempts = portAttempts
	}
	var err error
	for range attempts {
		p := port
		if p == 0 {
			if p, err = freePort(); err != nil {
				return err
			}
		}
		err = c.launch(ctx, p)
		if err == nil || port != 0 || !errors.Is(err, errPortInUse) {
			return err
		}
		c.log.Debug("localpg: port taken, retrying", "port", p)
	}
	return err
}

// errPortInUse marks a postmaster that exited because it could not bind.
var errPortInUse = errors.New("localpg: postgres could not bind its port")

func (c *Cluster) launch(ctx context.Context, port int) error {
	sockDir := c.root
	if len(filepath.Join(sockDir, ".s.PGSQL.65535")) > maxSocketPath {
		// Too long for sun_path; TCP is all we use, so disable the socket.
		c.log.Warn("localpg: temp dir path too long for a unix socket; unix socket disabled", "dir", sockDir)
		sockDir = ""
	}
	logFile, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("localpg: open server log: %w", err)
	}
	defer func() { _ = logFile.Close() }() // the child has its own copy

	// The server must outlive Start's ctx, so it must not be killed with it.
	cmd := c.command(context.WithoutCancel(ctx), "postgres",
		"-D", c.dataDir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+sockDir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
		"-c", "logging_collector=off",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Own process group so Stop can kill the server and all its children;
	// SIGKILL if this process dies so the server is never orphaned.
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("localpg: start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	c.cmd, c.done, c.port = cmd, done, port
	c.log.Debug("localpg: postgres started", "pid", cmd.Process.Pid, "port", port, "log", c.logPath)

	if err := c.waitReady(ctx); err != nil {
		select {
		case <-done:
			tail := c.logTail()
			if strings.Contains(tail, "could not bind") || strings.Contains(tail, "Address already in use") {
				err = fmt.Errorf("%w (port %d): %w", errPortInUse, c.port, err)
			}
			// Reaped already; forget it so a retry or Stop starts clean.
			c.cmd, c.done = nil, nil
			return fmt.Errorf("%w\nserver log:\n%s", err, tail)
		default:
			return fmt.Errorf("%w\nserver log:\n%s", err, c.logTail())
		}
	}
	return nil
}

// waitReady polls with pgx until the server accepts connections, the server
// exits, or ctx (capped at readyTimeout) is done.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	// Abort an in-flight connection attempt as soon as the server exits
	// (e.g. something else answered on the port and postgres could not bind).
	exitCtx, cancelExit := context.WithCancel(ctx)
	defer cancelExit()
	go func() {
		select {
		case <-c.done:
			cancelExit()
		case <-exitCtx.Done():
		}
	}()
	cfg, err := pgx.ParseConfig(c.dbURL("postgres"))
	if err != nil {
		return fmt.Errorf("localpg: parse URL: %w", err)
	}
	cfg.ConnectTimeout = 2 * time.Second
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		conn, err := pgx.ConnectConfig(exitCtx, cfg)
		if err == nil {
			err = conn.Ping(exitCtx)
			_ = conn.Close(context.WithoutCancel(exitCtx))
			if err == nil {
				return nil
			}
		}
		lastErr = err
		select {
		case <-c.done:
			return fmt.Errorf("localpg: postgres exited during startup (%s): %w", c.cmd.ProcessState, lastErr)
		case <-ctx.Done():
			return fmt.Errorf("localpg: waiting for postgres on port %d: %w (last error: %w)", c.port, ctx.Err(), lastErr)
		case <-tick.C:
		}
	}
}

// logTail returns the last few KiB of the server log, for error messages.
func (c *Cluster) logTail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", c.logPath, err)
	}
	const limit = 4096
	if len(b) > limit {
		b = b[len(b)-limit:]
	}
	return string(bytes.TrimSpace(b))
}

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localpg: pick free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
