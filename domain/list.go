package domain

import "time"

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
