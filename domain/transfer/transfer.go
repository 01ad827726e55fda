// Package transfer imports and exports inventories: it reads the items of an import, applies
// the per-item rules, plans which entries are created, updated, left unchanged or deleted,
// and checks the references between them; the SQL that loads and writes them, in one
// transaction, is package store's (store.Transfers).
package transfer

import (
	"time"

	"github.com/bremen/regmo/domain/store"
)

// Service imports and exports the registers and Onlinedienste of all Ressorts.
type Service struct {
	store *store.Transfers
	now   func() time.Time
}

// New returns the transfer service on st.
func New(st *store.Transfers) *Service { return &Service{store: st, now: time.Now} }

// WithClock returns a copy of the service that takes the time of its writes from now; tests
// use it to decide when an import happened.
func (s *Service) WithClock(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// For returns a copy of the service bound to reader, the user whose request it serves: its
// exports may read from a replica that has the reader's own writes (see store.Replicas).
func (s *Service) For(reader string) *Service {
	c := *s
	c.store = s.store.For(reader)
	return &c
}
