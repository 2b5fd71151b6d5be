package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// APIKeysChannel is the LISTEN/NOTIFY channel of API-key changes: the
// payload is a key's id, or "*" for every key (an operator who edited
// api_keys by hand: select pg_notify('veriflow_api_keys', '*')).
const APIKeysChannel = "veriflow_api_keys"

// ListenerApplicationName names the listening connection in
// pg_stat_activity (tests end it there to prove a reconnect).
const ListenerApplicationName = "veriflow-api-key-listener"

// ListenAPIKeys listens on APIKeysChannel on a connection of its own (not
// one of the pool's) until ctx ends or the connection fails, and returns
// why. ready is called once LISTEN is in force, before any notify: a
// notification sent before it may have been missed. notify is called with
// each payload, in order, on this goroutine. While no notification comes,
// the connection is pinged every heartbeat (default 5 s), each ping
// bounded by heartbeat too, so a silently dead connection is noticed
// within about two heartbeats.
func (s *Store) ListenAPIKeys(ctx context.Context, heartbeat time.Duration, ready func(), notify func(payload string)) error {
	if heartbeat <= 0 {
		heartbeat = 5 * time.Second
	}
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = ListenerApplicationName
	// A wait that times out only ends the read (no cancel request to the
	// server every heartbeat); the connection stays usable.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("store: listen: connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx) // the connection is done with either way
	}()
	if _, err := conn.Exec(ctx, "listen "+pgx.Identifier{APIKeysChannel}.Sanitize()); err != nil {
		return fmt.Errorf("store: listen: %w", err)
	}
	ready()
	for {
		wctx, cancel := context.WithTimeout(ctx, heartbeat)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			notify(n.Payload)
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("store: listen: wait: %w", err)
		}
		pctx, cancel := context.WithTimeout(ctx, heartbeat)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("store: listen: heartbeat: %w", err)
		}
	}
}
