// Package localpg starts throwaway PostgreSQL clusters for tests and for the
// dev command. A cluster lives in a private temporary directory, listens only
// on 127.0.0.1 and is tuned for speed rather than durability (fsync off).
package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// serverCredential returns the credential to run server binaries with: nil
// (current user) unless we are root, in which case the postgres system user.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serviceUser)
	if err != nil {
		return nil, fmt.Errorf("localpg: running as root and cannot look up user %q to run postgres as: %w", serviceUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("localpg: parse uid of %s: %w", serviceUser, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("localpg: parse gid of %s: %w", serviceUser, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// ensureTraversable makes sure every directory from dir up to / can be
// traversed by other users (o+x), so the postgres user can reach the data
// dir. It only ever adds the search bit, never read or write.
func ensureTraversable(dir string, log *slog.Logger) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("localpg: resolve %s: %w", dir, err)
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("localpg: stat %s: %w", dir, err)
		}
		if mode := fi.Mode().Perm(); mode&0o001 == 0 {
			log.Debug("localpg: adding o+x so the postgres user can reach the data dir", "dir", dir)
			if err := os.Chmod(dir, mode|0o001); err != nil {
				return fmt.Errorf("localpg: make %s traversable for %s: %w", dir, serviceUser, err)
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

// findBinDir locates a directory holding initdb and postgres: pg_config
// --bindir, else the highest /usr/lib/postgresql/*/bin, else PATH.
func findBinDir(ctx context.Context) (string, error) {
	if out, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); hasServerBinaries(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		return -compareVersions(filepath.Base(filepath.Dir(a)), filepath.Base(filepath.Dir(b)))
	})
	for _, dir := range dirs {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if dir := filepath.Dir(p); hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func hasServerBinaries(dir string) bool {
	if dir == "" {
		return false
	}
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// compareVersions compares dotted numeric versions such as "9.6" and "15".
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return strings.Compare(a, b)
}
