package localpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ForTest returns the URL of a fresh, empty PostgreSQL database for test t.
//
// If the environment variable DATABASE_URL is set, ForTest creates a database
// named veriflow_test_<random> on that server and drops it when the test
// ends. Otherwise it starts a throwaway cluster with Start (one per call),
// registers its Stop with t.Cleanup, and returns the cluster's URL.
//
// If no PostgreSQL server binaries are installed the test is skipped, unless
// VERIFLOW_REQUIRE_POSTGRES=1, in which case it fails.
func ForTest(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv("DATABASE_URL"); dsn != "" {
		return forTestExternal(t, dsn)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if errors.Is(err, ErrNoBinaries) {
		if os.Getenv("VERIFLOW_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("localpg: VERIFLOW_REQUIRE_POSTGRES=1 but: %v", err)
		}
		t.Skipf("localpg: skipping: %v (set DATABASE_URL, or install PostgreSQL server binaries)", err)
	}
	if err != nil {
		t.Fatalf("localpg: start cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("localpg: stop cluster: %v", err)
		}
	})
	return c.URL()
}

// forTestExternal creates a uniquely named database on the server at dsn
// and registers its removal with t.Cleanup.
func forTestExternal(t testing.TB, dsn string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "veriflow_test_" + hex.EncodeToString(b[:])
	dbURL, err := withDatabase(dsn, name)
	if err != nil {
		t.Fatalf("localpg: DATABASE_URL: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("localpg: connect to DATABASE_URL: %v", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("localpg: create database %s on DATABASE_URL: %v", name, err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dropDatabase(ctx, dsn, name); err != nil {
			t.Logf("localpg: drop test database %s: %v", name, err)
		}
	})
	return dbURL
}

// dropDatabase drops name, disconnecting other sessions where the server
// supports it (PostgreSQL 13+).
func dropDatabase(ctx context.Context, dsn, name string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err == nil {
		return nil
	}
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident); err != nil {
		return fmt.Errorf("drop: %w", err)
	}
	return nil
}

// withDatabase returns dsn (a URL or a keyword/value string) pointing at
// database name instead.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse URL: %w", err)
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	// Keyword/value form: a later dbname overrides an earlier one.
	return dsn + " dbname=" + name, nil
}
