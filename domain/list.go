package domain

import (
	"slices"
	"time"
)

// Scope is what a caller may read: every Ressort, or only some. Stores filter by it before
// they count or return anything.
type Scope struct {
	all      bool
	ressorts []string
}

// ScopeAll may read every Ressort.
func ScopeAll() Scope { return Scope{all: true} }

// ScopeRessorts may read only the given Ressorts.
func ScopeRessorts(codes ...string) Scope {
	return Scope{ressorts: slices.Clone(codes)}
}

// Includes reports whether the scope covers the Ressort.
func (s Scope) Includes(code string) bool { return s.all || slices.Contains(s.ressorts, code) }

// All reports whether the scope covers every Ressort.
func (s Scope) All() bool { return s.all }

// Ressorts lists the Ressorts of a limited scope.
func (s Scope) Ressorts() []string { return slices.Clone(s.ressorts) }

// restrict narrows a list of requested Ressorts (empty: all) to the scope. The result is nil
// with all=true when nothing restricts it.
func (s Scope) restrict(requested []string) (codes []string, all bool) {
	if len(requested) == 0 {
		if s.all {
			return nil, true
		}
		return s.Ressorts(), false
	}
	out := make([]string, 0, len(requested))
	for _, c := range requested {
		if s.Includes(c) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, false
}

// DefaultLimit and MaxLimit bound a page of a listing.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Filter selects entries of one kind for a listing.
type Filter struct {
	Kind Kind
	// Ressort is set for the listing of one Ressort; Ressorts filters the cross listing.
	Ressort  string
	Ressorts []string
	Stages   map[Dimension]Stage
	// Overdue, when set, keeps entries with (true) or without (false) an overdue dimension.
	Overdue *bool
	// Q matches a substring of the name or key, ignoring case.
	Q      string
	Limit  int
	Cursor string
	// AsOf, when set, lists the inventory as it was at that instant.
	AsOf *time.Time
}

// Page is one page of a listing.
type Page struct {
	Entries []Entry
	// Next continues the listing; empty on the last page.
	Next string
}
