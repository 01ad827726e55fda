package access

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/bremen/regmo/domain/store"
)

// Channel is the PostgreSQL notification channel on which the database announces every
// change of users, bindings and token revocations (migration 00004).
const Channel = "regmo_access"

// Watch keeps a connection of its own to PostgreSQL, outside the pool (see store.Listen).
// On it, it listens on Channel for the caller cache, and it asks the server every second
// whether it still answers: a hung server (connections open, no answers) would otherwise
// hold every request until its deadline, where Up lets them be refused at once.
type Watch struct {
	db    *store.Access
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

// NewWatch returns a watch of the database behind db that keeps cache (which may be nil)
// current.
func NewWatch(db *store.Access, cache *CallerCache) *Watch {
	w := &Watch{db: db, cache: cache, interval: time.Second, timeout: 2 * time.Second, retry: 250 * time.Millisecond}
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

// Run watches the database until ctx ends. report hears of every change between down (with
// the error) and up again (nil).
func (w *Watch) Run(ctx context.Context, report func(error)) {
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
	err := w.db.Listen(ctx, store.Listener{
		Channels: []string{Channel},
		Interval: w.interval, Timeout: w.timeout, Retry: w.retry,
		Listening: func() {
			// Changes before this point are in the database; the cache starts empty.
			w.cache.setLive(true)
			setDown(nil)
		},
		Notify: func(string) { w.cache.Invalidate() },
		Ended:  func() { w.cache.setLive(false) },
		Down:   setDown,
	})
	if err != nil {
		// Without a handle on the database there is nothing to listen on: it is down for good.
		setDown(err)
	}
}
