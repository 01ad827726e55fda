package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// contentFields is content as the flattened JSON document the API shows (see fields): the
// values a JSON round trip gives (numbers as float64, lists as []any), empty fields absent.
// It is built from entryTable's content columns, not by a round trip, because an import
// computes it for a hundred thousand entries; a test keeps it equal to the round trip.
func contentFields(c *domain.Content) map[string]any {
	out := make(map[string]any, len(contentTable))
	if c == nil {
		return out
	}
	for i := range contentTable {
		contentTable[i].flat(c, out)
	}
	return out
}

// contentChanges is the diff of two contents; nil stands for an entry that does not exist.
func contentChanges(before, after *domain.Content) (map[string]domain.Change, error) {
	return domain.DiffFields(contentFields(before), contentFields(after)), nil
}

// recordEvent appends an event in the caller's transaction.
func recordEvent(ctx context.Context, tx *gorm.DB, e domain.Event) error {
	changes, err := json.Marshal(e.Changes)
	if err != nil {
		return fmt.Errorf("store: encode event changes: %w", err)
	}
	err = tx.WithContext(ctx).Exec(`INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
		VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)`, e.At, e.Actor, e.Action, e.EntityType, nullIfEmpty(e.Ressort), e.Key, string(changes)).Error
	if err != nil {
		return fmt.Errorf("store: record %s of %s %s/%s: %w", e.Action, e.EntityType, e.Ressort, e.Key, err)
	}
	return nil
}

// recordDeletion ends a deleted entry's last version and appends the event, in one
// statement.
func (s entryStore) recordDeletion(ctx context.Context, actor string, kind domain.Kind, ressort, key string, id int64, before *domain.Content, now time.Time) error {
	changes, err := contentChanges(before, nil)
	if err != nil {
		return err
	}
	data, err := json.Marshal(changes)
	if err != nil {
		return fmt.Errorf("store: encode event changes: %w", err)
	}
	err = s.db.WithContext(ctx).Exec(`WITH closed AS (
			SELECT entry_versions_close(ARRAY[$1::bigint], ARRAY[NULL::bigint], $2)
		)
		INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
		SELECT $3, $4, 'deleted', $5, $6, $7, CAST($8 AS jsonb) FROM closed`,
		id, now, now, actor, string(kind), ressort, key, string(data)).Error
	if err != nil {
		return fmt.Errorf("store: record deletion of %s %s/%s: %w", kind, ressort, key, err)
	}
	return nil
}
