// Package param reads the query parameters that mean more than their type says: instants
// (as_of, from, to, since, until), in the words a client reads when one is wrong. The API and
// the web interface read them alike.
package param

import (
	"time"

	"github.com/bremen/regmo/domain"
)

// Error is a parameter that cannot be used as given (400, naming it).
type Error struct {
	Name    string
	Message string
}

func (e *Error) Error() string { return "parameter " + e.Name + ": " + e.Message }

// Instant reads a parameter written like as_of: an RFC 3339 instant, or a date YYYY-MM-DD
// meaning the end of that day in Europe/Berlin (for today: now). Instants after now cannot
// be answered, nor a year 0, which RFC 3339 can write and PostgreSQL's calendar lacks
// (422 naming the parameter).
func Instant(name, s string, now time.Time) (time.Time, error) {
	future := &domain.ValidationError{Fields: []domain.FieldError{{Field: name, Message: "lies in the future; the inventory is known only up to now"}}}
	if d, err := time.ParseInLocation(time.DateOnly, s, domain.Berlin); err == nil {
		if d.Year() < 1 {
			return time.Time{}, beforeYear1(name)
		}
		end := d.AddDate(0, 0, 1).Add(-time.Microsecond) // PostgreSQL keeps microseconds
		switch today := domain.Today(now); {
		case s == today:
			return now, nil
		case s > today:
			return time.Time{}, future
		}
		return end, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, &Error{Name: name, Message: "must be an RFC 3339 timestamp or a date YYYY-MM-DD"}
	}
	if t.After(now) {
		return time.Time{}, future
	}
	if t.In(domain.Berlin).Year() < 1 {
		return time.Time{}, beforeYear1(name)
	}
	return t, nil
}

// AsOf reads an optional as_of parameter; nil means now.
func AsOf(s *string, now time.Time) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := Instant("as_of", *s, now)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func beforeYear1(name string) error {
	return &domain.ValidationError{Fields: []domain.FieldError{{Field: name, Message: "lies before the year 1; the inventory has no such past"}}}
}
