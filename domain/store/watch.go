package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// AccessChannel is the PostgreSQL notification channel on which the database announces
// every change of users, bindings and token revocations (migration 00004).
const AccessChannel = "regmo_access"

// Watch keeps a connection of its own to PostgreSQL, outside the pool. On it, it listens on
// AccessChannel for the caller cache, and it asks the server every second whether it still
// answers: a hung server (connections open, no answers) would otherwise hold every request
// until its deadline, where Up lets them be refused at once.
type Watch struct {
	cache *CallerCache
	// interval is the quiet time after which the server is asked; timeout bounds its answer
	// and a connection attempt.
	interval, timeout time.Duration
	// retry is the pause before connecting again.
	retry time.Duration
	// up ends, with ErrDatabaseDown, when the database is found down; a new one begins
	// when it answers again.
	up atomic.Pointer[upPeriod]
}

type upPeriod struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// ErrDatabaseDown says that the watch found PostgreSQL not answering.
var ErrDatabaseDown = errors.New("the database does not answer")

// NewWatch returns a watch that keeps cache (which may be nil) current.
func NewWatch(cache *CallerCache) *Watch {
	w := &Watch{cache: cache, interval: time.Second, timeout: 2 * time.Second, retry: 250 * time.Millisecond}
	w.begin()
	return w
}

func (w *Watch) begin() {
	ctx, cancel := context.WithCancelCause(context.Background())
	w.up.Store(&upPeriod{ctx: ctx, cancel: cancel})
}

// Up returns a context that ends with cause ErrDatabaseDown as soon as the database is
// found down (at once if it is): requests under way then stop waiting for it.
func (w *Watch) Up() context.Context { return w.up.Load().ctx }

// Run watches the database behind db until ctx ends. report hears of every change between
// down (with the error) and up again (nil).
func (w *Watch) Run(ctx context.Context, db *sql.DB, report func(error)) {
	setDown := func(err error) {
		up := w.up.Load()
		switch {
		case err != nil && up.ctx.Err() == nil:
			up.cancel(ErrDatabaseDown)
			report(err)
		case err == nil && up.ctx.Err() != nil:
			w.begin()
			report(nil)
		}
	}
	var cfg *pgx.ConnConfig
	for {
		var subscribed bool
		var err error
		if cfg == nil {
			cfg, err = w.connConfig(ctx, db)
		}
		if err == nil {
			subscribed, err = w.session(ctx, cfg, setDown)
		}
		w.cache.setLive(false)
		if ctx.Err() != nil {
			return
		}
		if !subscribed {
			setDown(err)
		}
		// After a connection that worked, the next attempt tells whether the server is down.
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.retry):
		}
	}
}

// connConfig copies the settings of a connection of db's pool, with the watch's timeout
// for connecting.
func (w *Watch) connConfig(ctx context.Context, db *sql.DB) (*pgx.ConnConfig, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
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
		cfg.ConnectTimeout = w.timeout
		// pg_stat_activity tells the watch from the pool's connections.
		cfg.RuntimeParams["application_name"] = cmp.Or(cfg.RuntimeParams["application_name"], "regmo") + "-watch"
	}
	return cfg, err
}

// session holds one subscribed connection until it fails or ctx ends.
func (w *Watch) session(ctx context.Context, cfg *pgx.ConnConfig, setDown func(error)) (subscribed bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("watch: connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	lctx, cancel := context.WithTimeout(ctx, w.timeout)
	_, err = conn.Exec(lctx, "LISTEN "+AccessChannel)
	cancel()
	if err != nil {
		return false, fmt.Errorf("watch: listen: %w", err)
	}
	// Changes before this point are in the database; the cache starts empty.
	w.cache.setLive(true)
	setDown(nil)
	for {
		wctx, cancel := context.WithTimeout(ctx, w.interval)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			w.cache.Invalidate()
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, w.timeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				// No answer: the server is hung or gone. Mark it before reconnecting,
				// which may take the whole timeout again.
				err = fmt.Errorf("watch: no answer within %v: %w", w.timeout, err)
				setDown(err)
				return false, err
			}
		default:
			return true, fmt.Errorf("watch: wait: %w", err)
		}
	}
}
