package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// GetAsOf returns an entry as it was at the instant.
func (inv *Inventory) GetAsOf(ctx context.Context, scope domain.ReadScope, kind domain.Kind, ressort, key string, at time.Time) (domain.Entry, error) {
	if !scope.Includes(ressort) {
		return domain.Entry{}, domain.EntryNotFound(kind, ressort, key)
	}
	var rows []entryRow
	err := inv.reads.run(ctx, inv.db, nil, func(db *gorm.DB) (err error) {
		read := readOf(kind)
		rows, err = queryEntriesIn(ctx, db, scope, 1, read.cols, `SELECT `+read.list+` FROM entry_versions
			WHERE kind = $1 AND ressort = $2 AND key = $3 AND valid_from <= $4 AND (valid_to IS NULL OR valid_to > $4)
			ORDER BY valid_from DESC LIMIT 1`, string(kind), ressort, key, at)
		return err
	})
	if err != nil {
		return domain.Entry{}, fmt.Errorf("store: load %s %s/%s as of %s: %w", kind, ressort, key, at, err)
	}
	if len(rows) == 0 {
		return domain.Entry{}, &domain.NotFoundError{Detail: fmt.Sprintf("%s %s/%s did not exist at %s", domain.KindName(kind), ressort, key, at.UTC().Format(time.RFC3339))}
	}
	return rows[0].entry(), nil
}

// EventFilter selects audit events.
type EventFilter struct {
	Since, Until *time.Time
	Actor        string
	Ressorts     []string
	Type         string
	Action       string
	Limit        int
	Cursor       string
}

// EventPage is one page of events, newest first.
type EventPage struct {
	Events []domain.Event
	Next   string
}

type eventRow struct {
	ID         int64
	At         time.Time
	Actor      string
	Action     string
	EntityType string
	Ressort    *string
	Key        string
	Changes    string
}

func (r eventRow) event() (domain.Event, error) {
	e := domain.Event{ID: r.ID, At: r.At.UTC(), Actor: r.Actor, Action: r.Action, EntityType: r.EntityType, Key: r.Key}
	if r.Ressort != nil {
		e.Ressort = *r.Ressort
	}
	if err := json.Unmarshal([]byte(r.Changes), &e.Changes); err != nil {
		return domain.Event{}, fmt.Errorf("store: decode event %d: %w", r.ID, err)
	}
	return e, nil
}

// History returns the events of one entry, newest first; it answers after the entry was
// deleted, and 404 only for an entry that never existed.
func (inv *Inventory) History(ctx context.Context, scope domain.ReadScope, kind domain.Kind, ressort, key string, limit int, cursor string) (EventPage, error) {
	if !scope.Includes(ressort) {
		return EventPage{}, domain.EntryNotFound(kind, ressort, key)
	}
	f := EventFilter{Type: string(kind), Ressorts: []string{ressort}, Limit: limit, Cursor: cursor}
	page, err := inv.events(ctx, scope, f, "history|"+string(kind)+"|"+ressort+"|"+key, func(q *gorm.DB) *gorm.DB {
		return q.Where("ressort = ? AND key = ?", ressort, key)
	})
	if err != nil {
		return EventPage{}, err
	}
	if len(page.Events) == 0 && cursor == "" {
		return EventPage{}, domain.EntryNotFound(kind, ressort, key)
	}
	return page, nil
}

// Audit returns the events the scope may read, newest first. A Ressort-bound scope sees the
// events of its Ressorts' entries only.
func (inv *Inventory) Audit(ctx context.Context, scope domain.ReadScope, f EventFilter) (EventPage, error) {
	codes, all := restrict(scope, f.Ressorts)
	if !all && len(codes) == 0 {
		return EventPage{}, nil
	}
	fp := fmt.Sprintf("audit|%v|%v|%s|%s|%s|%s|%t", f.Since, f.Until, f.Actor, strings.Join(f.Ressorts, ","), f.Type, f.Action, scope.AccessData())
	return inv.events(ctx, scope, f, fp, func(q *gorm.DB) *gorm.DB {
		if !all {
			q = q.Where("ressort = ANY(?::text[]) AND entity_type IN ('register', 'onlinedienst')", textArray(codes))
		} else if len(f.Ressorts) > 0 {
			q = q.Where("ressort = ANY(?::text[])", textArray(f.Ressorts))
		}
		if !scope.AccessData() {
			// Users, bindings and tokens are access data: admins only.
			q = q.Where("entity_type IN ('register', 'onlinedienst', 'ressort')")
		}
		return q
	})
}

func (inv *Inventory) events(ctx context.Context, scope domain.ReadScope, f EventFilter, fingerprint string, where func(*gorm.DB) *gorm.DB) (EventPage, error) {
	if f.Limit == 0 {
		f.Limit = domain.DefaultLimit
	}
	if f.Limit < 1 || f.Limit > domain.MaxLimit {
		return EventPage{}, ErrLimit
	}
	fp := shortHash(fingerprint)
	var rows []eventRow
	err := inv.reads.readTx(ctx, inv.db, scope, func(tx *gorm.DB) error {
		return inv.eventRows(tx, f, fp, where, &rows)
	})
	if err != nil {
		return EventPage{}, err
	}
	var page EventPage
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		page.Next = encodeCursor(cursor{Ressort: "EV", Key: strconv.FormatInt(rows[len(rows)-1].ID, 10), Filter: fp})
	}
	for _, r := range rows {
		e, err := r.event()
		if err != nil {
			return EventPage{}, err
		}
		page.Events = append(page.Events, e)
	}
	return page, nil
}

// eventRows reads one page of events (and one more) on tx.
func (inv *Inventory) eventRows(tx *gorm.DB, f EventFilter, fp string, where func(*gorm.DB) *gorm.DB, rows *[]eventRow) error {
	q := where(tx.Table("events").Select("id, at, actor, action, entity_type, ressort, key, changes::text AS changes"))
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor, fp)
		if err != nil {
			return err
		}
		id, err := strconv.ParseInt(c.Key, 10, 64)
		if err != nil {
			return ErrCursor
		}
		q = q.Where("id < ?", id)
	}
	if f.Type != "" {
		q = q.Where("entity_type = ?", f.Type)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Since != nil {
		q = q.Where("at >= ?", *f.Since)
	}
	if f.Until != nil {
		q = q.Where("at < ?", *f.Until)
	}
	if err := q.Order("id DESC").Limit(f.Limit + 1).Scan(rows).Error; err != nil {
		return fmt.Errorf("store: list events: %w", err)
	}
	return nil
}

// TodayAt is the date in Europe/Berlin at the instant (nil: now) that decides "overdue".
func (inv *Inventory) TodayAt(at *time.Time) string {
	if at == nil {
		return inv.Today()
	}
	return domain.Today(*at)
}

// Lookup returns an entry now (at nil) or as it was at the instant.
func (inv *Inventory) Lookup(ctx context.Context, scope domain.ReadScope, kind domain.Kind, ressort, key string, at *time.Time) (domain.Entry, error) {
	if at == nil {
		return inv.Get(ctx, scope, kind, ressort, key)
	}
	return inv.GetAsOf(ctx, scope, kind, ressort, key, *at)
}

// Now is the service's clock.
func (inv *Inventory) Now() time.Time { return inv.now() }

// EntryEvent returns one event of a register or Onlinedienst, read in the scope: row-level
// security decides as well, so an event of a Ressort the scope does not name is ErrNotFound.
func (inv *Inventory) EntryEvent(ctx context.Context, scope domain.ReadScope, id int64) (domain.Event, error) {
	var rows []eventRow
	err := readTx(ctx, inv.db, scope, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id, at, actor, action, entity_type, ressort, key, changes::text AS changes FROM events
			WHERE id = $1 AND entity_type IN ('register', 'onlinedienst')`, id).Scan(&rows).Error
	})
	if err != nil {
		return domain.Event{}, fmt.Errorf("store: event %d: %w", id, err)
	}
	if len(rows) == 0 || !scope.Includes(*rows[0].Ressort) {
		return domain.Event{}, domain.ErrNotFound
	}
	return rows[0].event()
}
