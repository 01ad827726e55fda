package access_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

// listeningCache returns a cache subscribed to the test database, once it serves.
func listeningCache(t *testing.T, db *gorm.DB, ttl time.Duration) *access.CallerCache {
	t.Helper()
	cache := access.NewCallerCache(ttl)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		access.NewWatch(store.NewAccess(db), cache).Run(ctx, func(err error) { t.Logf("watch: database down: %v", err) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); !cache.Live(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("got no subscription within 10 s, want the cache to serve")
		}
	}
	return cache
}

// roles lists the caller's bindings as role/Ressort.
func roles(c domain.Caller) []string {
	var out []string
	for _, b := range c.Bindings {
		out = append(out, b.Role+"/"+b.Ressort)
	}
	return out
}

// silently runs stmt without the triggers that announce changes of rights, as if the
// notification were lost.
func silently(t *testing.T, db *gorm.DB, stmt string, args ...any) {
	t.Helper()
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SET LOCAL session_replication_role = replica`).Error; err != nil {
			return err
		}
		return tx.Exec(stmt, args...).Error
	})
	if err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// TestCallerCache checks that remembered callers never outlive a change of rights by more
// than the issue allows (a second), wherever the change is made, and that the cache does
// answer from memory.
func TestCallerCache(t *testing.T) {
	ctx := context.Background()
	sisBinding := domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SIS"}
	skBinding := domain.Binding{Role: domain.RoleRessortverantwortliche, Ressort: "SK"}
	// setup gives a cached Access (this instance), an uncached one (another instance or the
	// CLI) and a token of user sis, already seen by the cached Access.
	setup := func(t *testing.T, ttl time.Duration) (db *gorm.DB, cached, other *access.Service, token string) {
		t.Helper()
		db = testdb.New(t)
		other = access.New(store.NewAccess(db))
		cached = other.WithCache(listeningCache(t, db, ttl))
		if _, _, err := other.PutUser(ctx, "test", domain.WriteAll(), domain.User{Name: "sis", Active: true, Bindings: []domain.Binding{sisBinding}}); err != nil {
			t.Fatal(err)
		}
		token, _, err := other.IssueToken(ctx, "test", domain.WriteAll(), "sis", "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := cached.Authenticate(ctx, token); err != nil || !slices.Equal(roles(c), []string{"ressortverantwortliche/SIS"}) {
			t.Fatalf("first authentication: got %v %v, want sis with SIS", roles(c), err)
		}
		return db, cached, other, token
	}
	// within polls until check holds and returns how long that took.
	within := func(t *testing.T, limit time.Duration, check func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !check() {
			if time.Since(start) > limit {
				t.Fatalf("got no effect within %v, want one", limit)
			}
			time.Sleep(time.Millisecond)
		}
		return time.Since(start)
	}

	changes := []struct {
		name   string
		change func(t *testing.T, db *gorm.DB, a *access.Service, token string)
		// wantErr is the authentication's error afterwards; nil means the roles below.
		wantErr   error
		wantRoles []string
		// inSQL marks a change made in psql: no instance makes it, so only the
		// notification can tell.
		inSQL bool
	}{
		{"binding revoked", func(t *testing.T, db *gorm.DB, a *access.Service, token string) {
			if err := a.Revoke(ctx, "test", domain.WriteAll(), "sis", sisBinding); err != nil {
				t.Fatal(err)
			}
		}, nil, nil, false},
		{"binding granted", func(t *testing.T, db *gorm.DB, a *access.Service, token string) {
			if err := a.Grant(ctx, "test", domain.WriteAll(), "sis", skBinding); err != nil {
				t.Fatal(err)
			}
		}, nil, []string{"ressortverantwortliche/SIS", "ressortverantwortliche/SK"}, false},
		{"user deactivated", func(t *testing.T, db *gorm.DB, a *access.Service, token string) {
			if _, _, err := a.PutUser(ctx, "test", domain.WriteAll(), domain.User{Name: "sis", Active: false, Bindings: []domain.Binding{sisBinding}}); err != nil {
				t.Fatal(err)
			}
		}, domain.ErrUnauthenticated, nil, false},
		{"token revoked", func(t *testing.T, db *gorm.DB, a *access.Service, token string) {
			toks, err := a.Tokens(ctx, "sis")
			if err != nil || len(toks) != 1 {
				t.Fatalf("tokens: %v %v", toks, err)
			}
			if err := a.RevokeToken(ctx, "test", domain.WriteAll(), "sis", toks[0].ID); err != nil {
				t.Fatal(err)
			}
		}, domain.ErrUnauthenticated, nil, false},
		{"token shortened in psql", func(t *testing.T, db *gorm.DB, a *access.Service, token string) {
			if err := db.Exec(`UPDATE tokens SET expires_at = now() - interval '1 second'`).Error; err != nil {
				t.Fatal(err)
			}
		}, domain.ErrUnauthenticated, nil, true},
		{"user deleted in psql", func(t *testing.T, db *gorm.DB, a *access.Service, token string) {
			if err := db.Exec(`DELETE FROM users WHERE name = 'sis'`).Error; err != nil {
				t.Fatal(err)
			}
		}, domain.ErrUnauthenticated, nil, true},
	}
	holds := func(a *access.Service, token string, wantErr error, wantRoles []string) func() bool {
		return func() bool {
			c, err := a.Authenticate(ctx, token)
			if wantErr != nil {
				return errors.Is(err, wantErr)
			}
			return err == nil && slices.Equal(roles(c), wantRoles)
		}
	}
	for _, tt := range changes {
		if !tt.inSQL {
			t.Run(tt.name+" on this instance applies at the next request", func(t *testing.T) {
				db, cached, _, token := setup(t, time.Minute)
				tt.change(t, db, cached, token)
				if !holds(cached, token, tt.wantErr, tt.wantRoles)() {
					t.Errorf("got the caller from before the change, want it applied at once")
				}
			})
		}
		t.Run(tt.name+" elsewhere applies within a second", func(t *testing.T) {
			// The TTL is a minute: only the notification can make this pass.
			db, cached, other, token := setup(t, time.Minute)
			tt.change(t, db, other, token)
			took := within(t, time.Second, holds(cached, token, tt.wantErr, tt.wantRoles))
			t.Logf("applied after %v", took)
		})
	}

	t.Run("a lost notification is made good by the TTL", func(t *testing.T) {
		const ttl = 2 * time.Second
		db, cached, _, token := setup(t, ttl)
		silently(t, db, `DELETE FROM bindings WHERE user_name = 'sis'`)
		// Answered from memory: the database no longer holds the binding.
		if !holds(cached, token, nil, []string{"ressortverantwortliche/SIS"})() {
			t.Fatalf("got the caller read again at once, want it answered from memory")
		}
		took := within(t, 2*ttl, holds(cached, token, nil, nil))
		t.Logf("applied after %v (TTL %v)", took, ttl)
	})

	t.Run("without a subscription every request reads the database", func(t *testing.T) {
		db := testdb.New(t)
		a := access.New(store.NewAccess(db)).WithCache(access.NewCallerCache(time.Minute))
		if _, _, err := a.PutUser(ctx, "test", domain.WriteAll(), domain.User{Name: "sis", Active: true, Bindings: []domain.Binding{sisBinding}}); err != nil {
			t.Fatal(err)
		}
		token, _, err := a.IssueToken(ctx, "test", domain.WriteAll(), "sis", "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !holds(a, token, nil, []string{"ressortverantwortliche/SIS"})() {
			t.Fatal("first authentication failed")
		}
		silently(t, db, `DELETE FROM bindings WHERE user_name = 'sis'`)
		if !holds(a, token, nil, nil)() {
			t.Errorf("got the caller from memory, want it read again")
		}
	})

	t.Run("a token expiring while remembered is refused", func(t *testing.T) {
		db := testdb.New(t)
		now := time.Date(2026, 3, 15, 11, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		a := access.New(store.NewAccess(db)).WithClock(clock).WithCache(listeningCache(t, db, time.Minute))
		if _, _, err := a.PutUser(ctx, "test", domain.WriteAll(), domain.User{Name: "sis", Active: true, Bindings: []domain.Binding{sisBinding}}); err != nil {
			t.Fatal(err)
		}
		token, _, err := a.IssueToken(ctx, "test", domain.WriteAll(), "sis", "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !holds(a, token, nil, []string{"ressortverantwortliche/SIS"})() {
			t.Fatal("first authentication failed")
		}
		now = now.Add(time.Hour)
		if !holds(a, token, domain.ErrUnauthenticated, nil)() {
			t.Errorf("got an expired token accepted, want ErrUnauthenticated")
		}
	})
}
