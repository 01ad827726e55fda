package domain

import "slices"

// Precondition is a condition on the current version of an entry that a write requires
// (HTTP If-Match). The zero value requires nothing.
type Precondition struct {
	set      bool
	any      bool
	absent   bool
	versions []int64
}

// IfAbsent requires that no entry exists (If-None-Match: *): a form that creates an entry
// must not overwrite one created meanwhile.
func IfAbsent() Precondition { return Precondition{set: true, absent: true} }

// IfExists requires that the entry exists, in any version (If-Match: *).
func IfExists() Precondition { return Precondition{set: true, any: true} }

// IfVersion requires the entry to exist in one of the given versions. With no versions the
// condition can never hold (an If-Match that names only weak or foreign tags).
func IfVersion(versions ...int64) Precondition {
	return Precondition{set: true, versions: versions}
}

// Holds reports whether the condition holds for the current entry (nil: none exists).
func (p Precondition) Holds(current *Entry) bool {
	if !p.set {
		return true
	}
	if p.absent || current == nil {
		return p.absent && current == nil
	}
	return p.any || slices.Contains(p.versions, current.Version)
}

// Given reports whether the write names a condition at all.
func (p Precondition) Given() bool { return p.set }
