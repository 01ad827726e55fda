// Package report computes the reports of the OZG-Koordination over the inventory: the
// readiness per Ressort, the progress between two instants, and the findings (overdue
// dimensions, broken rules, gaps in the Anlage, Onlinedienste blocked by a register). The rows
// it computes them from are read by store.Reports, within the caller's scope.
package report

import (
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
)

// Service computes the reports from the rows store.Reports reads.
type Service struct {
	store *store.Reports
	now   func() time.Time
}

// New returns the report service reading through st.
func New(st *store.Reports) *Service { return &Service{store: st, now: time.Now} }

// WithClock returns a copy of the service that takes the time from now; tests use it to
// decide what "today" is.
func (s *Service) WithClock(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Filter narrows a report.
type Filter struct {
	AsOf     *time.Time
	Ressorts []string
	// Kind, when set, counts only registers or only Onlinedienste.
	Kind domain.Kind
}

// at is the instant a report describes: the filter's as of, or now.
func (s *Service) at(f Filter) time.Time {
	if f.AsOf != nil {
		return *f.AsOf
	}
	return s.now()
}

// For returns a copy of the service bound to reader, the user whose request it serves: its
// reads may go to a replica that has the reader's own writes (see store.Replicas).
func (s *Service) For(reader string) *Service {
	c := *s
	c.store = s.store.For(reader)
	return &c
}
