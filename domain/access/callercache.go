package access

import (
	"sync"
	"time"

	"github.com/bremen/regmo/domain"
)

// maxCachedCallers bounds the cache's memory whatever number of tokens clients present.
const maxCachedCallers = 10_000

// CallerCache keeps the callers of recently seen tokens, so that a request does not read
// its token and bindings from PostgreSQL again. It serves only while a Watch listens on
// Channel for it: every change of rights empties it at once, on every instance; and
// no caller is older than its TTL, which bounds the staleness should a notification be
// lost. A nil *CallerCache caches nothing.
type CallerCache struct {
	ttl time.Duration

	mu sync.Mutex
	// gen counts the invalidations; a caller read under an older generation is not kept.
	gen     uint64
	live    bool
	entries map[[32]byte]cachedCaller
	// hits and misses count the lookups (for metrics).
	hits, misses uint64
}

type cachedCaller struct {
	caller domain.Caller
	// loaded is when the read that produced the caller began (the real clock, also in
	// tests with a fixed business clock).
	loaded       time.Time
	tokenExpires time.Time
}

// NewCallerCache returns a cache whose callers live at most ttl. It caches nothing until a
// Watch has subscribed to Channel for it.
func NewCallerCache(ttl time.Duration) *CallerCache {
	return &CallerCache{ttl: ttl, entries: map[[32]byte]cachedCaller{}}
}

// subscribed reports whether the cache is subscribed to Channel and so may serve
// callers (tests wait for it; see export_test.go).
func (c *CallerCache) subscribed() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live
}

// lookup returns the caller of the token hash if the cache holds a fresh one. The caller's
// bindings are shared: callers must not modify them.
func (c *CallerCache) lookup(hash [32]byte, now time.Time) (domain.Caller, bool) {
	if c == nil {
		return domain.Caller{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || !c.live {
		c.misses++
		return domain.Caller{}, false
	}
	if time.Since(e.loaded) >= c.ttl || !now.Before(e.tokenExpires) {
		delete(c.entries, hash)
		c.misses++
		return domain.Caller{}, false
	}
	c.hits++
	return e.caller, true
}

// Counts returns how many lookups the cache answered and how many went to the database.
func (c *CallerCache) Counts() (hits, misses uint64) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
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
func (c *CallerCache) store(gen uint64, loaded time.Time, hash [32]byte, caller domain.Caller, tokenExpires time.Time) {
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
