package domain

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
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

// contentFields is content as the flattened JSON document the API shows (see fields): the
// values a JSON round trip gives (numbers as float64, lists as []any), empty fields absent.
// It is built from entryTable's content columns, not by a round trip, because an import
// computes it for a hundred thousand entries; a test keeps it equal to the round trip.
func contentFields(c *Content) map[string]any {
	out := make(map[string]any, len(contentTable))
	if c == nil {
		return out
	}
	for i := range contentTable {
		contentTable[i].flat(c, out)
	}
	return out
}

// Diff lists the fields whose values differ between two documents.
func Diff(before, after map[string]any) map[string]Change {
	return diffFields(fields(before), fields(after))
}

func diffFields(b, a map[string]any) map[string]Change {
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

// contentChanges is the diff of two contents; nil stands for an entry that does not exist.
func contentChanges(before, after *Content) (map[string]Change, error) {
	return diffFields(contentFields(before), contentFields(after)), nil
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
			SELECT entry_versions_close(ARRAY[?::bigint], ARRAY[NULL::bigint], ?)
		)
		INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
		SELECT ?, ?, 'deleted', ?, ?, ?, CAST(? AS jsonb) FROM closed`,
		id, now, now, actor, string(kind), ressort, key, string(data)).Error
	if err != nil {
		return fmt.Errorf("store: record deletion of %s %s/%s: %w", kind, ressort, key, err)
	}
	return nil
}
