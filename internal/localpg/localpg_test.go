package localpg

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// startForTest starts a cluster or skips (or fails, with
// VERIFLOW_REQUIRE_POSTGRES=1) when PostgreSQL is not installed.
func startForTest(t *testing.T, opts Options) *Cluster {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	began := time.Now()
	c, err := Start(ctx, opts)
	if errors.Is(err, ErrNoBinaries) && os.Getenv("VERIFLOW_REQUIRE_POSTGRES") != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %s", time.Since(began))
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

func queryOne(t *testing.T, ctx context.Context, url, sql string) string {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s on %s: %v", sql, url, err)
	}
	return s
}

func TestClusterLifecycle(t *testing.T) {
	c := startForTest(t, Options{})
	ctx := t.Context()

	want := "postgres://postgres@127.0.0.1:" + strconv.Itoa(c.port) + "/veriflow?sslmode=disable"
	if got := c.URL(); got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	if got := queryOne(t, ctx, c.URL(), "select 1::text"); got != "1" {
		t.Errorf("select 1 = %q", got)
	}
	if got := queryOne(t, ctx, c.URL(), "select current_database()::text"); got != "veriflow" {
		t.Errorf("current_database() = %q, want veriflow", got)
	}
	for setting, want := range map[string]string{
		"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
		"max_connections": "200", "listen_addresses": "127.0.0.1", "server_encoding": "UTF8",
	} {
		if got := queryOne(t, ctx, c.URL(), "show "+setting); got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}

	second, err := c.CreateDatabase(ctx, "second_db")
	if err != nil {
		t.Fatalf("CreateDatabase: %v", err)
	}
	if got := queryOne(t, ctx, second, "select current_database()::text"); got != "second_db" {
		t.Errorf("current_database() on second = %q", got)
	}
	if _, err := c.CreateDatabase(ctx, "second_db"); err == nil {
		t.Error("CreateDatabase of an existing name succeeded")
	}
	if _, err := c.CreateDatabase(ctx, `bad"name`); err == nil {
		t.Error("CreateDatabase accepted an invalid name")
	}

	pid := c.cmd.Process.Pid
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port))
	began := time.Now()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %s", time.Since(began))
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	if _, err := os.Stat(c.root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data dir %s still present after Stop (stat err %v)", c.root, err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = conn.Close()
		t.Errorf("port %s still accepting connections after Stop", addr)
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still exists after Stop (kill err %v)", pid, err)
	}
}

func TestStartInGivenDirAndPort(t *testing.T) {
	parent := t.TempDir() // 0700 dirs: exercises the traversable fix-up when root
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	c := startForTest(t, Options{Dir: parent, Port: port})
	if c.port != port {
		t.Errorf("port = %d, want %d", c.port, port)
	}
	if got := queryOne(t, t.Context(), c.URL(), "select 1::text"); got != "1" {
		t.Errorf("select 1 = %q", got)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("parent dir not empty after Stop: %v", entries)
	}
}

func TestStartPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	port := l.Addr().(*net.TCPAddr).Port
	parent := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{Dir: parent, Port: port})
	if errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
	if err == nil {
		_ = c.Stop()
		t.Fatal("Start succeeded on a port already in use")
	}
	t.Logf("expected error: %v", err)
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("failed Start left files behind: %v", entries)
	}
}

func TestForTest(t *testing.T) {
	url := ForTest(t)
	if got := queryOne(t, t.Context(), url, "select 1::text"); got != "1" {
		t.Errorf("select 1 = %q", got)
	}

	t.Run("DATABASE_URL", func(t *testing.T) {
		t.Setenv("DATABASE_URL", url)
		inner := ForTest(t)
		got := queryOne(t, t.Context(), inner, "select current_database()::text")
		if len(got) != len("veriflow_test_")+12 || got[:len("veriflow_test_")] != "veriflow_test_" {
			t.Errorf("current_database() = %q, want veriflow_test_<12 hex>", got)
		}
	})
	// The subtest's cleanup dropped its database.
	if got := queryOne(t, t.Context(), url,
		"select count(*)::text from pg_database where datname like 'veriflow_test_%'"); got != "0" {
		t.Errorf("%s veriflow_test_ databases left after subtest cleanup", got)
	}
}

func TestWithDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@h:5432/old?sslmode=disable": "postgres://u:p@h:5432/newdb?sslmode=disable",
		"postgresql://h/":          "postgresql://h/newdb",
		"host=h user=u dbname=old": "host=h user=u dbname=old dbname=newdb",
	} {
		got, err := withDatabase(in, "newdb")
		if err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestValidDBName(t *testing.T) {
	for name, want := range map[string]bool{
		"veriflow": true, "_x1": true, "a_b_9": true,
		"": false, "9a": false, "Ab": false, "a-b": false, `a"b`: false,
		string(make([]byte, 64)): false,
	} {
		if got := validDBName(name); got != want {
			t.Errorf("validDBName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	if compareVersions("15", "9.6") <= 0 || compareVersions("9.6", "10") >= 0 || compareVersions("16", "16") != 0 {
		t.Error("compareVersions ordering wrong")
	}
}
