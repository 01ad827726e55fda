package domain

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// AccessChannel is the PostgreSQL notification channel on which the database announces
// every change of users, bindings and token revocations (migration 00004).
const AccessChannel = "regmo_access"

// maxCachedCallers bounds the cache's memory whatever number of tokens clients present.
const maxCachedCallers = 10_000

// CallerCache keeps the callers of recently seen tokens, so that a request does not read
// its token and bindings from PostgreSQL again. It serves only while it listens on
// AccessChannel: every change of rights empties it at once, on every instance; and no
// caller is older than its TTL, which bounds the staleness should a notification be lost.
// A nil *CallerCache caches nothing.
type CallerCache struct {
	ttl time.Duration

	mu sync.Mutex
	// gen counts the invalidations; a caller read under an older generation is not kept.
	gen     uint64
	live    bool
	entries map[[32]byte]cachedCaller
}

type cachedCaller struct {
	caller Caller
	// loaded is when the read that produced the caller began (the real clock, also in
	// tests with a fixed business clock).
	loaded       time.Time
	tokenExpires time.Time
}

// NewCallerCache returns a cache whose callers live at most ttl. It caches nothing until
// Listen has subscribed to AccessChannel.
func NewCallerCache(ttl time.Duration) *CallerCache {
	return &CallerCache{ttl: ttl, entries: map[[32]byte]cachedCaller{}}
}

// Live reports whether the cache is subscribed to AccessChannel and so may serve callers.
func (c *CallerCache) Live() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live
}

// lookup returns the caller of the token hash if the cache holds a fresh one. The caller's
// bindings are shared: callers must not modify them.
func (c *CallerCache) lookup(hash [32]byte, now time.Time) (Caller, bool) {
	if c == nil {
		return Caller{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || !c.live {
		return Caller{}, false
	}
	if time.Since(e.loaded) >= c.ttl || !now.Before(e.tokenExpires) {
		delete(c.entries, hash)
		return Caller{}, false
	}
	return e.caller, true
}

// begin is called before reading a caller from the database; store needs its result.
func (c *CallerCache) begin() (gen uint64, loaded time.Time) {
	if c == nil {
		return 0, time.Time{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen, time.Now()
}

// store keeps a caller read since begin returned gen, unless rights changed meanwhile: then
// the read may predate the change, and the next request reads again.
func (c *CallerCache) store(gen uint64, loaded time.Time, hash [32]byte, caller Caller, tokenExpires time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || gen != c.gen {
		return
	}
	if len(c.entries) >= maxCachedCallers {
		for k, e := range c.entries {
			if time.Since(e.loaded) >= c.ttl {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCachedCallers {
			return
		}
	}
	c.entries[hash] = cachedCaller{caller: caller, loaded: loaded, tokenExpires: tokenExpires}
}

// Invalidate forgets every caller; reads that began before are not kept either.
func (c *CallerCache) Invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
}

// setLive empties the cache and records whether it may serve.
func (c *CallerCache) setLive(live bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
	c.live = live
}

// Listen subscribes to AccessChannel and empties the cache on every notification, until
// ctx ends. While it has no subscription (at start, and while the database is away) the
// cache serves nothing, and every request reads its caller from the database. Errors that
// make it reconnect go to report.
//
// The subscription has a connection of its own, with the settings of db's connections but
// outside db's pool: it must neither carry LISTEN into requests nor take a connection
// they wait for.
func (c *CallerCache) Listen(ctx context.Context, db *sql.DB, report func(error)) {
	const maxBackoff = 5 * time.Second
	backoff := 100 * time.Millisecond
	var cfg *pgx.ConnConfig
	for {
		var subscribed bool
		var err error
		if cfg == nil {
			cfg, err = connConfig(ctx, db)
		}
		if err == nil {
			subscribed, err = c.listen(ctx, cfg)
		}
		c.setLive(false)
		if ctx.Err() != nil {
			return
		}
		report(err)
		if subscribed {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// connConfig copies the settings of a connection of db's pool.
func connConfig(ctx context.Context, db *sql.DB) (*pgx.ConnConfig, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("access cache: connection settings: %w", err)
	}
	defer conn.Close()
	var cfg *pgx.ConnConfig
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("access cache: driver connection is %T, not pgx", dc)
		}
		cfg = sc.Conn().Config().Copy()
		return nil
	})
	return cfg, err
}

// listen holds one subscribed connection until it fails or ctx ends.
func (c *CallerCache) listen(ctx context.Context, cfg *pgx.ConnConfig) (subscribed bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("access cache: connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+AccessChannel); err != nil {
		return false, fmt.Errorf("access cache: listen: %w", err)
	}
	// Changes before this point are in the database; the cache starts empty.
	c.setLive(true)
	for {
		// A connection that died silently would wait forever; ask the server now and then
		// whether it is still there.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			c.Invalidate()
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("access cache: ping: %w", err)
			}
		default:
			return true, fmt.Errorf("access cache: wait: %w", err)
		}
	}
}
