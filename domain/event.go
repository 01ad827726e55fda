package domain

import (
	"reflect"
	"time"
)

// Actions an event records.
const (
	ActionCreated = "created"
	ActionUpdated = "updated"
	ActionDeleted = "deleted"
)

// Change is the old and new value of one field; nil means absent or empty.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// Event is one entry of the append-only audit trail.
type Event struct {
	ID         int64
	At         time.Time
	Actor      string
	Action     string
	EntityType string
	Ressort    string
	Key        string
	Changes    map[string]Change
}

// Fields flattens a JSON document into dotted paths (readiness.noots.stage); lists stay
// whole values, since they are replaced as a whole.
func Fields(v any) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, child := range m {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, child)
			}
			return
		}
		out[prefix] = v
	}
	walk("", v)
	return out
}

// Diff lists the fields whose values differ between two documents.
func Diff(before, after map[string]any) map[string]Change {
	return DiffFields(Fields(before), Fields(after))
}

// DiffFields lists the changes between two flattened documents.
func DiffFields(b, a map[string]any) map[string]Change {
	changes := map[string]Change{}
	for k, bv := range b {
		if !reflect.DeepEqual(bv, a[k]) {
			changes[k] = Change{From: bv, To: a[k]}
		}
	}
	for k, av := range a {
		if _, ok := b[k]; !ok && av != nil {
			changes[k] = Change{From: nil, To: av}
		}
	}
	return changes
}
