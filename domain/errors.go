package domain

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound means the addressed entry (or Ressort) does not exist.
var ErrNotFound = errors.New("not found")

// ErrPrecondition means If-Match named another version than the current one, or an entry
// that does not exist.
var ErrPrecondition = errors.New("precondition failed")

// ErrBusy means a write lost to concurrent writes of the same entries again and again and
// was given up, with nothing written; the same request may be sent again.
var ErrBusy = errors.New("busy with concurrent writes")

// FieldError is one broken rule, named by the JSON path of the field it concerns.
type FieldError struct {
	Field   string
	Message string
}

// ValidationError lists every broken rule of one input at once.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add records a broken rule.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// MergeFieldErrors adds to first the errors of more whose field first does not name yet: when
// the contract and the domain rules both judge an input, each broken field is reported once,
// by the check that ran first.
func MergeFieldErrors(first, more []FieldError) []FieldError {
	named := make(map[string]bool, len(first))
	for _, f := range first {
		named[f.Field] = true
	}
	for _, f := range more {
		if !named[f.Field] {
			first = append(first, f)
			named[f.Field] = true
		}
	}
	return first
}

// Err returns e when it holds at least one field error, else nil.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// ReferencedError refuses to delete a register that Onlinedienste still draw Nachweise from.
// It names only the Onlinedienste the caller may read; those of other Ressorts are counted
// per Ressort.
type ReferencedError struct {
	Register Ref
	By       []Ref
	// Elsewhere counts the referencing Onlinedienste of Ressorts the caller may not read.
	Elsewhere []RessortCount
}

// RessortCount is a number of entries of one Ressort.
type RessortCount struct {
	Ressort string
	Count   int
}

// Add records one referencing Onlinedienst; named is false when it may not be named.
func (e *ReferencedError) Add(ressort, key string, named bool) {
	if named {
		e.By = append(e.By, Ref{ressort, key})
		return
	}
	if n := len(e.Elsewhere); n > 0 && e.Elsewhere[n-1].Ressort == ressort {
		e.Elsewhere[n-1].Count++
		return
	}
	e.Elsewhere = append(e.Elsewhere, RessortCount{Ressort: ressort, Count: 1})
}

// Describe lists who names the register, in words: the readable Onlinedienste by address,
// the others as a count per Ressort.
func (e *ReferencedError) Describe() string {
	var parts []string
	for _, r := range e.By {
		parts = append(parts, r.String())
	}
	for _, c := range e.Elsewhere {
		word := "Onlinedienste"
		if c.Count == 1 {
			word = "Onlinedienst"
		}
		parts = append(parts, fmt.Sprintf("%d %s of Ressort %s", c.Count, word, c.Ressort))
	}
	if len(parts) == 0 {
		return "an Onlinedienst"
	}
	return strings.Join(parts, ", ")
}

func (e *ReferencedError) Error() string {
	return fmt.Sprintf("register %s is named in nachweise_from of %s", e.Register, e.Describe())
}

// NotFoundError says what was not found, in words for the client.
type NotFoundError struct{ Detail string }

func (e *NotFoundError) Error() string { return e.Detail }

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// EntryNotFound is the error of an entry that does not exist or that the scope may not see.
func EntryNotFound(kind Kind, ressort, key string) error {
	return &NotFoundError{Detail: fmt.Sprintf("%s %s/%s does not exist", KindName(kind), ressort, key)}
}

// RessortNotFound is the error of a Ressort that does not exist.
func RessortNotFound(code string) error {
	return &NotFoundError{Detail: fmt.Sprintf("Ressort %s does not exist", code)}
}

// KindName is how messages name a kind.
func KindName(k Kind) string {
	if k == KindOnlinedienst {
		return "Onlinedienst"
	}
	return "register"
}
