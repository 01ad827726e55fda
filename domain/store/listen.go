package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Listener says what Listen listens on, how it watches the server and whom it tells.
type Listener struct {
	// Channels are the notification channels to LISTEN on.
	Channels []string
	// Interval is the quiet time after which the server is asked whether it still answers;
	// Timeout bounds its answer, a connection attempt and the LISTEN.
	Interval, Timeout time.Duration
	// Retry is the pause before connecting again.
	Retry time.Duration
	// Listening is called when a connection listens on every channel (changes before are
	// in the database) and so the server answers.
	Listening func()
	// Notify is called for every notification on one of the channels.
	Notify func(channel string)
	// Ended is called whenever a connection attempt or a listening connection ends:
	// notifications may be missed from then on.
	Ended func()
	// Down is called, possibly more than once, when the server is found not answering.
	Down func(err error)
}

// Listen keeps a connection of its own to the PostgreSQL server behind db, outside the
// pool, listening on l.Channels and asking the server every l.Interval whether it still
// answers, and reconnects whenever it fails, until ctx ends. It is the one place that
// reaches pgx for LISTEN.
func (a *Access) Listen(ctx context.Context, l Listener) error {
	db, err := a.db.DB()
	if err != nil {
		return fmt.Errorf("listen: database handle: %w", err)
	}
	var cfg *pgx.ConnConfig
	for {
		var subscribed bool
		var err error
		if cfg == nil {
			cfg, err = listenConfig(ctx, db, l.Timeout)
		}
		if err == nil {
			subscribed, err = listenSession(ctx, cfg, l)
		}
		l.Ended()
		if ctx.Err() != nil {
			return nil
		}
		if !subscribed {
			l.Down(err)
		}
		// After a connection that worked, the next attempt tells whether the server is down.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(l.Retry):
		}
	}
}

// listenConfig copies the settings of a connection of db's pool, with timeout for
// connecting.
func listenConfig(ctx context.Context, db *sql.DB, timeout time.Duration) (*pgx.ConnConfig, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch: connection settings: %w", err)
	}
	defer conn.Close()
	var cfg *pgx.ConnConfig
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("watch: driver connection is %T, not pgx", dc)
		}
		cfg = sc.Conn().Config().Copy()
		return nil
	})
	if cfg != nil {
		cfg.ConnectTimeout = timeout
		// The pool's connection set its own buffer as the handler of notifications; without
		// one, the watch's connection buffers them itself and so can tell their channel.
		cfg.OnNotification = nil
		// pg_stat_activity tells the watch from the pool's connections.
		cfg.RuntimeParams["application_name"] = cmp.Or(cfg.RuntimeParams["application_name"], "regmo") + "-watch"
	}
	return cfg, err
}

// listenSession holds one subscribed connection until it fails or ctx ends.
func listenSession(ctx context.Context, cfg *pgx.ConnConfig, l Listener) (subscribed bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("watch: connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	for _, ch := range l.Channels {
		lctx, cancel := context.WithTimeout(ctx, l.Timeout)
		_, err = conn.Exec(lctx, "LISTEN "+pgx.Identifier{ch}.Sanitize())
		cancel()
		if err != nil {
			return false, fmt.Errorf("watch: listen: %w", err)
		}
	}
	l.Listening()
	for {
		wctx, cancel := context.WithTimeout(ctx, l.Interval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			var channel string
			if n != nil { // always set, since the connection buffers its notifications
				channel = n.Channel
			}
			l.Notify(channel)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, l.Timeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				// No answer: the server is hung or gone. Mark it before reconnecting,
				// which may take the whole timeout again.
				err = fmt.Errorf("watch: no answer within %v: %w", l.Timeout, err)
				l.Down(err)
				return false, err
			}
		default:
			return true, fmt.Errorf("watch: wait: %w", err)
		}
	}
}
