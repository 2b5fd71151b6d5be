package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
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
// each payload, in order, on this goroutine.
//
// Every heartbeat (default 5 s) it notifies the channel itself through the
// pool (another session) and expects that notification back before the
// next heartbeat; when it does not come, it returns an error. So a
// connection that died silently, or one that no longer receives other
// sessions' notifications (a pooler in transaction mode between it and
// PostgreSQL), ends the listener within two heartbeats. Heartbeats are
// not passed to notify (every replica's listener sees them).
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
	pending := "" // the heartbeat sent and not back yet
	next := time.Now().Add(heartbeat)
	for {
		wctx, cancel := context.WithDeadline(ctx, next)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if beat, ok := strings.CutPrefix(n.Payload, heartbeatPrefix); ok {
				if beat == pending {
					pending = ""
				}
				continue
			}
			notify(n.Payload)
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("store: listen: wait: %w", err)
		}
		if pending != "" {
			return fmt.Errorf("store: listen: heartbeat not received within %v", heartbeat)
		}
		pending = rand.Text()
		next = time.Now().Add(heartbeat)
		hctx, cancel := context.WithDeadline(ctx, next)
		_, err = s.pool.Exec(hctx, `select pg_notify($1, $2)`, APIKeysChannel, heartbeatPrefix+pending)
		cancel()
		if err != nil {
			return fmt.Errorf("store: listen: heartbeat: %w", err)
		}
	}
}

// heartbeatPrefix marks a listener's heartbeat on APIKeysChannel (no key
// id has a colon).
const heartbeatPrefix = "heartbeat:"
