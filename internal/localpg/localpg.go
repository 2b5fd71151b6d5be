// Package localpg starts throwaway PostgreSQL clusters for tests and for the
// dev command. A cluster lives in a private temporary directory, listens only
// on 127.0.0.1 and is tuned for speed rather than durability (fsync off).
package localpg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries is returned by Start (match it with errors.Is) when no
// PostgreSQL server binaries (initdb and postgres) can be found.
var ErrNoBinaries = errors.New("localpg: postgresql server binaries (initdb, postgres) not found")

const (
	// superuser is the bootstrap superuser created by initdb -U.
	superuser = "postgres"
	// defaultDatabase is the database created by Start and returned by URL.
	defaultDatabase = "veriflow"
	// serviceUser is the system account used to run the server when we are root.
	serviceUser = "postgres"
	// readyTimeout caps how long Start waits for the server to accept
	// connections, in case ctx has no deadline of its own.
	readyTimeout = 2 * time.Minute
	// stopTimeout is how long Stop waits for a fast shutdown before killing
	// the server's process group.
	stopTimeout = 30 * time.Second
	// portAttempts is how many free ports Start tries when Options.Port is 0
	// and the chosen port was grabbed by someone else before postgres bound it.
	portAttempts = 3
	// maxSocketPath is a conservative limit for a unix socket path
	// (sun_path is 108 bytes on Linux, 104 on BSDs).
	maxSocketPath = 100
)

// Options configures a throwaway cluster.
type Options struct {
	// Dir is the parent directory of the cluster's private temporary
	// directory. Empty means the system temp dir (os.MkdirTemp("", ...)).
	Dir string
	// Port is the TCP port to listen on at 127.0.0.1. Zero picks a free port.
	Port int
	// Logger receives progress and diagnostic messages. Nil discards them.
	Logger *slog.Logger
}

// Cluster is a running throwaway PostgreSQL server on 127.0.0.1.
type Cluster struct {
	log     *slog.Logger
	binDir  string
	root    string // private temp dir: data dir, sockets and server log live here
	dataDir string
	logPath string
	port    int
	cred    *syscall.Credential // nil when running as the current user

	cmd  *exec.Cmd
	done chan struct{} // closed when the postmaster has exited and been reaped

	stopOnce sync.Once
	stopErr  error
}

// Start runs initdb (auth trust, UTF8, --no-sync), starts postgres listening
// only on 127.0.0.1:<port> with its unix socket in the cluster's private temp
// dir, with fsync, synchronous_commit and full_page_writes off and
// max_connections=200, waits until it accepts connections (bounded by ctx),
// and creates database "veriflow".
//
// When the process runs as root the server runs as the "postgres" system
// user, which then owns the temp dir. The caller must call Stop, which kills
// the server and removes the temp dir. ctx bounds only the startup; the
// server keeps running after ctx is done.
//
// The server is started with a parent-death signal, so it is killed if this
// process dies without calling Stop (the temp dir is then left behind). On
// Linux that signal is tied to the OS thread that called Start, so do not
// call Start from a goroutine that has locked its OS thread and may exit.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	began := time.Now()

	binDir, err := findBinDir(ctx)
	if err != nil {
		return nil, err
	}
	log.Debug("localpg: using postgres binaries", "bindir", binDir)

	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}

	root, err := os.MkdirTemp(opts.Dir, "veriflow-pg-*")
	if err != nil {
		return nil, fmt.Errorf("localpg: create temp dir: %w", err)
	}
	c := &Cluster{
		log:     log,
		binDir:  binDir,
		root:    root,
		dataDir: filepath.Join(root, "data"),
		logPath: filepath.Join(root, "postgres.log"),
		cred:    cred,
	}
	started := false
	defer func() {
		if !started {
			if err := c.Stop(); err != nil {
				log.Warn("localpg: cleanup after failed start", "err", err)
			}
		}
	}()

	if cred != nil {
		if err := os.Chown(root, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("localpg: chown %s to %s: %w", root, serviceUser, err)
		}
		if err := ensureTraversable(filepath.Dir(root), log); err != nil {
			return nil, err
		}
	}

	if err := c.initdb(ctx); err != nil {
		return nil, err
	}
	log.Debug("localpg: initdb done", "datadir", c.dataDir, "elapsed", time.Since(began))

	if err := c.startServer(ctx, opts.Port); err != nil {
		return nil, err
	}
	log.Debug("localpg: server accepting connections", "port", c.port, "elapsed", time.Since(began))

	if _, err := c.CreateDatabase(ctx, defaultDatabase); err != nil {
		return nil, err
	}
	started = true
	log.Info("localpg: cluster started", "url", c.URL(), "dir", root, "elapsed", time.Since(began))
	return c, nil
}

// URL returns a pgx connection URL for database "veriflow", user postgres,
// e.g. postgres://postgres@127.0.0.1:PORT/veriflow?sslmode=disable.
func (c *Cluster) URL() string {
	return c.dbURL(defaultDatabase)
}

// PID returns the process id of the postmaster, which leads its own
// process group (signal -PID to reach every backend), or 0 when the server
// is not running. Tests use it to pause the server (SIGSTOP/SIGCONT).
func (c *Cluster) PID() int {
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// StopServer shuts the server down as pg_ctl stop -m fast does (SIGINT to
// the postmaster; SIGKILL of its process group after a timeout) and keeps
// its data, so StartServer can start it again: the chaos test's Postgres
// restart.
func (c *Cluster) StopServer() error {
	if c.cmd == nil || c.cmd.Process == nil {
		return errors.New("localpg: server not running")
	}
	pid := c.cmd.Process.Pid
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("localpg: signal postmaster %d: %w", pid, err)
	}
	select {
	case <-c.done:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-c.done
		return fmt.Errorf("localpg: fast shutdown of pid %d timed out after %s", pid, stopTimeout)
	}
	return nil
}

// StartServer starts a server stopped by StopServer again, on the same
// port and data, and waits (bounded by ctx) until it accepts connections.
func (c *Cluster) StartServer(ctx context.Context) error {
	if c.done != nil {
		select {
		case <-c.done:
		default:
			return errors.New("localpg: server already running")
		}
	}
	return c.launch(ctx, c.port)
}

// CreateDatabase creates another empty database and returns its URL (for
// test isolation). name must be a lower-case identifier ([a-z_][a-z0-9_]*,
// at most 63 bytes).
func (c *Cluster) CreateDatabase(ctx context.Context, name string) (string, error) {
	if !validDBName(name) {
		return "", fmt.Errorf("localpg: invalid database name %q: want [a-z_][a-z0-9_]{0,62}", name)
	}
	conn, err := pgx.Connect(ctx, c.dbURL("postgres"))
	if err != nil {
		return "", fmt.Errorf("localpg: connect to create database %s: %w", name, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("localpg: create database %s: %w", name, err)
	}
	c.log.Debug("localpg: created database", "name", name)
	return c.dbURL(name), nil
}

// Stop does a fast shutdown of the server (SIGINT to the postmaster, which is
// what pg_ctl stop -m fast sends), falling back to SIGKILL of the server's
// process group after a timeout, and removes the cluster's temp dir. It is
// safe to call more than once and from several goroutines; later calls
// return the result of the first.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Cluster) stop() error {
	var errs []error
	if c.cmd != nil && c.cmd.Process != nil {
		pid := c.cmd.Process.Pid
		select {
		case <-c.done:
		default:
			if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
				c.log.Warn("localpg: signal postmaster", "pid", pid, "err", err)
			}
			select {
			case <-c.done:
			case <-time.After(stopTimeout):
				c.log.Warn("localpg: fast shutdown timed out; killing server", "pid", pid)
				errs = append(errs, fmt.Errorf("localpg: fast shutdown of pid %d timed out after %s", pid, stopTimeout))
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				<-c.done
			}
		}
		// The postmaster waits for its children before exiting, but make
		// sure nothing in its process group survives (e.g. after a crash).
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("localpg: kill process group %d: %w", pid, err))
		}
	}
	if c.root != "" {
		if err := os.RemoveAll(c.root); err != nil {
			errs = append(errs, fmt.Errorf("localpg: remove %s: %w", c.root, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.log.Debug("localpg: cluster stopped", "dir", c.root)
	return nil
}

// validDBName reports whether name is a plain lower-case identifier
// ([a-z_][a-z0-9_]*, at most 63 bytes), so it never needs quoting in URLs.
func validDBName(name string) bool {
	if name == "" || len(name) > 63 {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func (c *Cluster) dbURL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}
