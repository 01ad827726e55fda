package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// queryEntries runs a query selecting entryColumns ($n placeholders) on db's connection or
// transaction, past GORM's statement building and reflection: one entry and a list page
// are what the service reads most.
func queryEntries(ctx context.Context, db *gorm.DB, query string, args ...any) ([]entryRow, error) {
	rows, err := db.Statement.ConnPool.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanEntries(rows, 1)
}

// scanEntries reads and closes rows of entryColumns; size is the expected count.
func scanEntries(rows *sql.Rows, size int) ([]entryRow, error) {
	defer rows.Close()
	out := make([]entryRow, 0, size)
	// The destinations are built once: every row is scanned into the same cleared row and
	// then copied.
	var row entryRow
	dest := row.fields()
	for rows.Next() {
		row = entryRow{}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// entryStore owns the SQL of entries and nachweise. db is the pool or a transaction.
type entryStore struct{ db *gorm.DB }

// lock loads an entry for update; nil when it does not exist.
func (s entryStore) lock(ctx context.Context, kind domain.Kind, ressort, key string) (*entryRow, error) {
	rows, err := queryEntries(ctx, s.db, `SELECT `+entryColumns+` FROM entries
		WHERE kind = $1 AND ressort = $2 AND key = $3 FOR UPDATE`, string(kind), ressort, key)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s %s/%s: %w", kind, ressort, key, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0], nil
}

// insert creates an entry and returns its row; with a change, its history is written by the
// same statement (see write).
func (s entryStore) insert(ctx context.Context, kind domain.Kind, ressort, key string, c domain.Content, actor string, now time.Time, ch *change) (entryRow, error) {
	e := domain.Entry{Kind: kind, Ressort: ressort, Key: key, Content: c, CreatedAt: now, UpdatedAt: now, UpdatedBy: actor}
	args, err := values(insertTable, 0, &e)
	if err != nil {
		return entryRow{}, fmt.Errorf("store: insert %s %s/%s: %w", kind, ressort, key, err)
	}
	row, err := s.write(ctx, `INSERT INTO entries (`+joinColumns(insertTable, "")+`)
		VALUES (`+placeholders(1, len(args))+`)`, args, kind, ressort, key, ch)
	if err != nil {
		return entryRow{}, fmt.Errorf("store: insert %s %s/%s: %w", kind, ressort, key, err)
	}
	return row, nil
}

// updateSQL replaces an entry's content and raises its version; its parameters are the
// values of updateTable, then the id.
var updateSQL = func() string {
	set := make([]string, len(updateTable))
	for i, c := range updateTable {
		set[i] = c.name + " = $" + strconv.Itoa(i+1)
	}
	return `UPDATE entries SET ` + strings.Join(set, ", ") + `, version = version + 1
		WHERE id = $` + strconv.Itoa(len(updateTable)+1)
}()

// update replaces an entry's content and raises its version; with a change, its history is
// written by the same statement.
func (s entryStore) update(ctx context.Context, kind domain.Kind, ressort, key string, id int64, c domain.Content, actor string, now time.Time, ch *change) (entryRow, error) {
	e := domain.Entry{Kind: kind, Ressort: ressort, Key: key, Content: c, UpdatedAt: now, UpdatedBy: actor}
	args, err := values(updateTable, id, &e)
	if err != nil {
		return entryRow{}, fmt.Errorf("store: update entry %d: %w", id, err)
	}
	row, err := s.write(ctx, updateSQL, append(args, id), kind, ressort, key, ch)
	if err != nil {
		return entryRow{}, fmt.Errorf("store: update entry %d: %w", id, err)
	}
	return row, nil
}

// change is the audit side of a write to an entry.
type change struct {
	actor, action string
	before, after *domain.Content
	now           time.Time
}

// write runs a statement ($n parameters, args) that writes one entries row. With a change,
// the same statement closes the entry's previous version, appends the new version and the
// event: a write pays for its history in rows, not in round trips. The version names every
// column of entryTable, so entry_versions may order its columns as it likes.
func (s entryStore) write(ctx context.Context, stmt string, args []any, kind domain.Kind, ressort, key string, ch *change) (entryRow, error) {
	if ch == nil {
		return s.writeRow(ctx, stmt+` RETURNING `+entryColumns, args)
	}
	changes, err := contentChanges(ch.before, ch.after)
	if err != nil {
		return entryRow{}, err
	}
	data, err := json.Marshal(changes)
	if err != nil {
		return entryRow{}, fmt.Errorf("encode event changes: %w", err)
	}
	n := len(args)
	p := func(i int) string { return "$" + strconv.Itoa(n+i) }
	args = append(args, ch.now, ch.actor, ch.action, string(kind), ressort, key, string(data))
	// entry_versions_close leaves the version this statement writes open (it closes only
	// older ones), whichever of the two PostgreSQL runs first; the main query names closed
	// so that it runs at all.
	return s.writeRow(ctx, `WITH w AS (`+stmt+` RETURNING `+entryColumns+`),
		closed AS (SELECT entry_versions_close(ARRAY[w.id], ARRAY[w.version], `+p(1)+`) FROM w),
		event AS (INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
			VALUES (`+placeholders(n+1, 6)+`, CAST(`+p(7)+` AS jsonb))),
		version AS (INSERT INTO entry_versions (`+entryColumns+`, `+joinColumns(versionColumns, "")+`)
			SELECT `+joinColumns(entryTable, "w")+`, `+p(1)+`, NULL FROM w)
		SELECT `+joinColumns(entryTable, "w")+` FROM w, closed`, args)
}

// writeRow runs a statement that returns one row of entryColumns; no row gives the zero row.
func (s entryStore) writeRow(ctx context.Context, stmt string, args []any) (entryRow, error) {
	rows, err := queryEntries(ctx, s.db, stmt, args...)
	if err != nil || len(rows) == 0 {
		return entryRow{}, err
	}
	return rows[0], nil
}

// delete removes an entry.
func (s entryStore) delete(ctx context.Context, id int64) error {
	if err := s.db.WithContext(ctx).Exec(`DELETE FROM entries WHERE id = $1`, id).Error; err != nil {
		return fmt.Errorf("store: delete entry %d: %w", id, err)
	}
	return nil
}

// registerIDs resolves register references to ids; missing ones are absent from the map.
func (s entryStore) registerIDs(ctx context.Context, refs []domain.Ref) (map[domain.Ref]int64, error) {
	out := make(map[domain.Ref]int64, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	codes := make([]string, len(refs))
	keys := make([]string, len(refs))
	for i, r := range refs {
		codes[i], keys[i] = r.Ressort, r.Key
	}
	var rows []struct {
		ID      int64
		Ressort string
		Key     string
	}
	// Registers of other Ressorts may be named: their public cards tell that they exist.
	err := s.db.WithContext(ctx).Raw(`SELECT c.id, c.ressort, c.key
		FROM unnest($1::text[], $2::text[]) AS r(ressort, key)
		JOIN register_cards c ON c.ressort = r.ressort AND c.key = r.key`,
		textArray(codes), textArray(keys)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: resolve registers: %w", err)
	}
	for _, r := range rows {
		out[domain.Ref{Ressort: r.Ressort, Key: r.Key}] = r.ID
	}
	return out, nil
}

// setNachweise replaces the registers an Onlinedienst draws Nachweise from.
func (s entryStore) setNachweise(ctx context.Context, onlinedienstID int64, registerIDs []int64) error {
	db := s.db.WithContext(ctx)
	if err := db.Exec(`DELETE FROM nachweise WHERE onlinedienst_id = $1`, onlinedienstID).Error; err != nil {
		return fmt.Errorf("store: clear nachweise of %d: %w", onlinedienstID, err)
	}
	if len(registerIDs) == 0 {
		return nil
	}
	ids := make(textArray, len(registerIDs))
	for i, id := range registerIDs {
		ids[i] = fmt.Sprint(id)
	}
	if err := db.Exec(`INSERT INTO nachweise (onlinedienst_id, register_id)
		SELECT $1, unnest($2::bigint[])`, onlinedienstID, ids).Error; err != nil {
		return fmt.Errorf("store: set nachweise of %d: %w", onlinedienstID, err)
	}
	return nil
}

// referencedBy tells who names a register in nachweise_from: the Onlinedienste the scope may
// read by address, those of other Ressorts only as a count per Ressort. PostgreSQL's
// register_references answers from past row-level security, and never names what the
// caller may not read.
func (s entryStore) referencedBy(ctx context.Context, registerID int64) (*domain.ReferencedError, error) {
	refs, err := s.references(ctx, []int64{registerID})
	if err != nil {
		return nil, err
	}
	return refs[registerID], nil
}

// references is referencedBy for many registers; registers no one names are absent.
func (s entryStore) references(ctx context.Context, registerIDs []int64) (map[int64]*domain.ReferencedError, error) {
	rows, err := s.db.Statement.ConnPool.QueryContext(ctx,
		`SELECT register_id, ressort, key FROM register_references($1::bigint[])`, registerIDs)
	if err != nil {
		return nil, fmt.Errorf("store: onlinedienste naming registers: %w", err)
	}
	defer rows.Close()
	out := map[int64]*domain.ReferencedError{}
	for rows.Next() {
		var id int64
		var ressort string
		var key sql.NullString
		if err := rows.Scan(&id, &ressort, &key); err != nil {
			return nil, fmt.Errorf("store: onlinedienste naming registers: %w", err)
		}
		e := out[id]
		if e == nil {
			e = &domain.ReferencedError{}
			out[id] = e
		}
		e.Add(ressort, key.String, key.Valid)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: onlinedienste naming registers: %w", err)
	}
	return out, nil
}

// list returns one page of a listing, filtered by scope first, in one round trip with the
// scope for row-level security.
func (s entryStore) list(ctx context.Context, scope domain.ReadScope, f domain.Filter, codes []string, all bool, after *cursor, today string) ([]entryRow, error) {
	db := s.db.Session(&gorm.Session{DryRun: true, NewDB: true}).WithContext(ctx)
	read := readOf(f.Kind)
	q := db.Table("entries").Select(read.list).Where("kind = ?", f.Kind)
	if f.AsOf != nil {
		q = db.Table("entry_versions").Select(read.list).Where("kind = ?", f.Kind).
			Where("valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)", *f.AsOf, *f.AsOf)
	}
	switch {
	case all:
	case len(codes) == 1:
		// Equality lets PostgreSQL walk the (kind, ressort, key) index in order instead of
		// collecting and sorting every row of the Ressort.
		q = q.Where("ressort = ?", codes[0])
	default:
		q = q.Where("ressort = ANY(?::text[])", textArray(codes))
	}
	for _, d := range domain.Dimensions {
		if st, ok := f.Stages[d]; ok {
			q = q.Where(string(d)+"_stage = ?", string(st))
		}
	}
	if f.Overdue != nil {
		cond := overdueSQL
		if !*f.Overdue {
			cond = "NOT " + overdueSQL
		}
		q = q.Where(cond, today, today, today)
	}
	if f.Q != "" {
		// ICU lower-cases umlauts whatever the cluster's locale; strpos needs no escaping.
		// The alternatives are grouped by GORM's builder, which parenthesises them: a bare OR
		// would escape every other condition, the scope among them.
		q = q.Where(db.Where(`strpos(lower(name COLLATE "und-x-icu"), lower(? COLLATE "und-x-icu")) > 0`, f.Q).
			Or(`strpos(key, lower(? COLLATE "und-x-icu")) > 0`, f.Q))
	}
	if after != nil {
		q = q.Where("(ressort, key) > (?, ?)", after.Ressort, after.Key)
	}
	stmt := q.Order("ressort, key").Limit(f.Limit + 1).Find(&[]map[string]any{}).Statement
	if stmt.Error != nil {
		return nil, fmt.Errorf("store: list %s: %w", f.Kind, stmt.Error)
	}
	rows, err := queryEntriesIn(ctx, s.db, scope, f.Limit+1, read.cols, stmt.SQL.String(), stmt.Vars...)
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", f.Kind, err)
	}
	return rows, nil
}

// overdueSQL is true for rows with at least one overdue dimension; its three parameters are
// today's date. It is the SQL twin of Readiness.Overdue. It carries its own parentheses, so
// that its ORs can never escape the conditions it is joined to.
const overdueSQL = `(COALESCE(idnr_target_date < ?::date AND idnr_stage NOT IN ('live', 'not_applicable'), false) OR
	COALESCE(noots_target_date < ?::date AND noots_stage NOT IN ('live', 'not_applicable'), false) OR
	COALESCE(dsc_target_date < ?::date AND dsc_stage NOT IN ('live', 'not_applicable'), false))`

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// isForeignKeyViolation reports whether err is PostgreSQL's foreign_key_violation.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}
