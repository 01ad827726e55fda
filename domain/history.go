package domain

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"time"

	"gorm.io/gorm"
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

// fields flattens a JSON document into dotted paths (readiness.noots.stage); lists stay
// whole values, since they are replaced as a whole.
func fields(v any) map[string]any {
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

// document is the JSON shape of content as the API shows it (absent fields are empty).
func document(c *Content) (map[string]any, error) {
	if c == nil {
		return map[string]any{}, nil
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("domain: encode content: %w", err)
	}
	var doc map[string]any
	if err := decodeJSON(data, &doc); err != nil {
		return nil, fmt.Errorf("domain: decode content: %w", err)
	}
	return doc, nil
}

// Diff lists the fields whose values differ between two documents.
func Diff(before, after map[string]any) map[string]Change {
	b, a := fields(before), fields(after)
	changes := map[string]Change{}
	keys := slices.Collect(maps.Keys(b))
	for k := range a {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if !reflect.DeepEqual(b[k], a[k]) {
			changes[k] = Change{From: b[k], To: a[k]}
		}
	}
	return changes
}

// contentChanges is the diff of two contents; nil stands for an entry that does not exist.
func contentChanges(before, after *Content) (map[string]Change, error) {
	b, err := document(before)
	if err != nil {
		return nil, err
	}
	a, err := document(after)
	if err != nil {
		return nil, err
	}
	return Diff(b, a), nil
}

// recordEvent appends an event in the caller's transaction.
func recordEvent(ctx context.Context, tx *gorm.DB, e Event) error {
	changes, err := json.Marshal(e.Changes)
	if err != nil {
		return fmt.Errorf("store: encode event changes: %w", err)
	}
	err = tx.WithContext(ctx).Exec(`INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
		VALUES (?, ?, ?, ?, ?, ?, ?::jsonb)`, e.At, e.Actor, e.Action, e.EntityType, nullIfEmpty(e.Ressort), e.Key, string(changes)).Error
	if err != nil {
		return fmt.Errorf("store: record %s of %s %s/%s: %w", e.Action, e.EntityType, e.Ressort, e.Key, err)
	}
	return nil
}

// recordDeletion ends a deleted entry's last version and appends the event, in one
// statement.
func (s entryStore) recordDeletion(ctx context.Context, actor string, kind Kind, ressort, key string, id int64, before *Content, now time.Time) error {
	changes, err := contentChanges(before, nil)
	if err != nil {
		return err
	}
	data, err := json.Marshal(changes)
	if err != nil {
		return fmt.Errorf("store: encode event changes: %w", err)
	}
	err = s.db.WithContext(ctx).Exec(`WITH closed AS (
			UPDATE entry_versions SET valid_to = ? WHERE id = ? AND valid_to IS NULL
		)
		INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
		VALUES (?, ?, 'deleted', ?, ?, ?, CAST(? AS jsonb))`,
		now, id, now, actor, string(kind), ressort, key, string(data)).Error
	if err != nil {
		return fmt.Errorf("store: record deletion of %s %s/%s: %w", kind, ressort, key, err)
	}
	return nil
}
