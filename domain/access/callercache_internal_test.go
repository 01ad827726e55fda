package access

import (
	"testing"
	"time"

	"github.com/bremen/regmo/domain"
)

// TestCallerCacheKeepsNoReadThatRacedWithAChange covers the interleavings of one read with
// an invalidation: whatever the order, a caller read before a change is never served after
// it.
func TestCallerCacheKeepsNoReadThatRacedWithAChange(t *testing.T) {
	hash := hashToken("regmo_x")
	caller := domain.Caller{User: "sis", Bindings: []domain.Binding{{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"}}}
	now := time.Date(2026, 3, 15, 11, 0, 0, 0, time.UTC)
	expires := now.Add(time.Hour)
	tests := []struct {
		name string
		run  func(c *CallerCache)
		want bool
	}{
		{"read, store", func(c *CallerCache) {
			gen, loaded := c.begin()
			c.store(gen, loaded, hash, caller, expires)
		}, true},
		{"read, change, store", func(c *CallerCache) {
			gen, loaded := c.begin()
			c.Invalidate()
			c.store(gen, loaded, hash, caller, expires)
		}, false},
		{"read, store, change", func(c *CallerCache) {
			gen, loaded := c.begin()
			c.store(gen, loaded, hash, caller, expires)
			c.Invalidate()
		}, false},
		{"read, subscription lost and regained, store", func(c *CallerCache) {
			gen, loaded := c.begin()
			c.setLive(false)
			c.setLive(true)
			c.store(gen, loaded, hash, caller, expires)
		}, false},
		{"subscription lost, read, store", func(c *CallerCache) {
			c.setLive(false)
			gen, loaded := c.begin()
			c.store(gen, loaded, hash, caller, expires)
		}, false},
		{"read long ago, store", func(c *CallerCache) {
			gen, _ := c.begin()
			c.store(gen, time.Now().Add(-time.Minute), hash, caller, expires)
		}, false},
		{"read, store, token expired", func(c *CallerCache) {
			gen, loaded := c.begin()
			c.store(gen, loaded, hash, caller, now)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCallerCache(time.Minute)
			c.setLive(true)
			tt.run(c)
			got, ok := c.lookup(hash, now)
			if ok != tt.want {
				t.Fatalf("got served %v, want %v", ok, tt.want)
			}
			if ok && got.User != caller.User {
				t.Errorf("got caller %q, want %q", got.User, caller.User)
			}
			hits, misses := c.Counts()
			if served := hits == 1 && misses == 0; served != tt.want || hits+misses != 1 {
				t.Errorf("got %d hits and %d misses, want one lookup counted as served=%v", hits, misses, tt.want)
			}
		})
	}
}

// TestCallerCacheIsBounded stores more callers than the cache holds.
func TestCallerCacheIsBounded(t *testing.T) {
	c := NewCallerCache(time.Minute)
	c.setLive(true)
	expires := time.Now().Add(time.Hour)
	for i := range maxCachedCallers + 10 {
		gen, loaded := c.begin()
		c.store(gen, loaded, hashToken("regmo_"+string(rune('a'+i%26))+string(rune(i))), domain.Caller{User: "u"}, expires)
	}
	if got := len(c.entries); got != maxCachedCallers {
		t.Errorf("got %d callers, want %d", got, maxCachedCallers)
	}
}

// TestNilCallerCacheCachesNothing: a Service without cache reads every caller.
func TestNilCallerCacheCachesNothing(t *testing.T) {
	var c *CallerCache
	gen, loaded := c.begin()
	c.store(gen, loaded, hashToken("regmo_x"), domain.Caller{User: "u"}, time.Now().Add(time.Hour))
	c.Invalidate()
	if _, ok := c.lookup(hashToken("regmo_x"), time.Now()); ok || c.subscribed() {
		t.Errorf("got a nil cache serving, want nothing")
	}
}
