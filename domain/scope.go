package domain

import (
	"slices"
	"strings"
)

// ressortSet is every Ressort, or only some.
type ressortSet struct {
	all   bool
	codes []string
}

func (s ressortSet) includes(code string) bool { return s.all || slices.Contains(s.codes, code) }

// setting is the set as the row-level security policies read it (migration 00005): "*" for
// every Ressort, else the codes separated by commas; "" (nothing) when empty.
func (s ressortSet) setting() string {
	if s.all {
		return "*"
	}
	return strings.Join(s.codes, ",")
}

// Restrict narrows a list of requested Ressorts (empty: all) to the set. The result is nil
// with all=true when nothing restricts it.
func (s ressortSet) Restrict(requested []string) (codes []string, all bool) {
	if len(requested) == 0 {
		if s.all {
			return nil, true
		}
		return slices.Clone(s.codes), false
	}
	out := make([]string, 0, len(requested))
	for _, c := range requested {
		if s.includes(c) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, false
}

// ReadScope is what a caller may read: every Ressort, or only some. Stores filter by it before
// they count or return anything, and every transaction hands it to PostgreSQL, whose
// row-level security filters again. The zero value reads nothing.
type ReadScope struct {
	set ressortSet
	// access allows reading access data: the events of users, bindings and tokens.
	access bool
}

// ReadAll may read every Ressort.
func ReadAll() ReadScope { return ReadScope{set: ressortSet{all: true}} }

// ReadRessorts may read only the given Ressorts.
func ReadRessorts(codes ...string) ReadScope {
	return ReadScope{set: ressortSet{codes: slices.Clone(codes)}}
}

// WithAccessData returns the scope that may also read access data (users, bindings, tokens
// in the audit trail); only the authorization layer grants it, to admins.
func (s ReadScope) WithAccessData() ReadScope {
	s.access = true
	return s
}

// Includes reports whether the scope covers the Ressort.
func (s ReadScope) Includes(code string) bool { return s.set.includes(code) }

// AccessData reports whether the scope may read access data.
func (s ReadScope) AccessData() bool { return s.access }

// Restrict narrows a list of requested Ressorts (empty: all) to the scope; see ressortSet.
func (s ReadScope) Restrict(requested []string) ([]string, bool) { return s.set.Restrict(requested) }

// WriteScope is what a caller may change: every Ressort, or only some. It is a type of its
// own so that a read permission can never be handed to a write. The zero value writes
// nothing.
type WriteScope struct{ set ressortSet }

// WriteAll may change every Ressort.
func WriteAll() WriteScope { return WriteScope{set: ressortSet{all: true}} }

// WriteRessorts may change only the given Ressorts.
func WriteRessorts(codes ...string) WriteScope {
	return WriteScope{set: ressortSet{codes: slices.Clone(codes)}}
}

// Includes reports whether the scope covers the Ressort.
func (s WriteScope) Includes(code string) bool { return s.set.includes(code) }

// Reads is what a write may read on its way: the rows it changes.
func (s WriteScope) Reads() ReadScope { return ReadScope{set: s.set} }

// Setting is the scope as the row-level security policies read it (migration 00005).
func (s ReadScope) Setting() string { return s.set.setting() }

// Setting is the scope as the row-level security policies read it (migration 00005).
func (s WriteScope) Setting() string { return s.set.setting() }
