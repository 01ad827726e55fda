package domain

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// entryRow is one row of the entries table.
type entryRow struct {
	ID               int64      `gorm:"column:id"`
	Kind             string     `gorm:"column:kind"`
	Ressort          string     `gorm:"column:ressort"`
	Key              string     `gorm:"column:key"`
	Name             string     `gorm:"column:name"`
	Description      string     `gorm:"column:description"`
	IdnrgAnlageNr    *int       `gorm:"column:idnrg_anlage_nr"`
	LegalBasis       string     `gorm:"column:legal_basis"`
	Fachverfahren    string     `gorm:"column:fachverfahren"`
	Contact          string     `gorm:"column:contact"`
	LeikaKeys        textArray  `gorm:"column:leika_keys"`
	URL              string     `gorm:"column:url"`
	NachweiseFrom    textArray  `gorm:"column:nachweise_from"`
	IdnrStage        string     `gorm:"column:idnr_stage"`
	IdnrTargetDate   *time.Time `gorm:"column:idnr_target_date"`
	IdnrNote         string     `gorm:"column:idnr_note"`
	IdnrEvidenceURL  string     `gorm:"column:idnr_evidence_url"`
	NootsStage       string     `gorm:"column:noots_stage"`
	NootsTargetDate  *time.Time `gorm:"column:noots_target_date"`
	NootsNote        string     `gorm:"column:noots_note"`
	NootsEvidenceURL string     `gorm:"column:noots_evidence_url"`
	DscStage         string     `gorm:"column:dsc_stage"`
	DscTargetDate    *time.Time `gorm:"column:dsc_target_date"`
	DscNote          string     `gorm:"column:dsc_note"`
	DscEvidenceURL   string     `gorm:"column:dsc_evidence_url"`
	Version          int64      `gorm:"column:version"`
	CreatedAt        time.Time  `gorm:"column:created_at"`
	UpdatedAt        time.Time  `gorm:"column:updated_at"`
	UpdatedBy        string     `gorm:"column:updated_by"`
}

// fields are the scan destinations of entryColumns, in their order.
func (r *entryRow) fields() []any {
	return []any{&r.ID, &r.Kind, &r.Ressort, &r.Key, &r.Name, &r.Description, &r.IdnrgAnlageNr, &r.LegalBasis,
		&r.Fachverfahren, &r.Contact, &r.LeikaKeys, &r.URL, &r.NachweiseFrom,
		&r.IdnrStage, &r.IdnrTargetDate, &r.IdnrNote, &r.IdnrEvidenceURL,
		&r.NootsStage, &r.NootsTargetDate, &r.NootsNote, &r.NootsEvidenceURL,
		&r.DscStage, &r.DscTargetDate, &r.DscNote, &r.DscEvidenceURL,
		&r.Version, &r.CreatedAt, &r.UpdatedAt, &r.UpdatedBy}
}

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
	for rows.Next() {
		out = append(out, entryRow{})
		if err := rows.Scan(out[len(out)-1].fields()...); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// entryColumns lists the columns entryRow reads, in the order contentValues writes the
// content ones.
const entryColumns = `id, kind, ressort, key, name, description, idnrg_anlage_nr, legal_basis,
	fachverfahren, contact, leika_keys, url, nachweise_from,
	idnr_stage, idnr_target_date, idnr_note, idnr_evidence_url,
	noots_stage, noots_target_date, noots_note, noots_evidence_url,
	dsc_stage, dsc_target_date, dsc_note, dsc_evidence_url,
	version, created_at, updated_at, updated_by`

// contentColumns are the columns a write sets from Content.
const contentColumns = `name, description, idnrg_anlage_nr, legal_basis, fachverfahren, contact,
	leika_keys, url, nachweise_from,
	idnr_stage, idnr_target_date, idnr_note, idnr_evidence_url,
	noots_stage, noots_target_date, noots_note, noots_evidence_url,
	dsc_stage, dsc_target_date, dsc_note, dsc_evidence_url`

// contentValues returns the values of contentColumns.
func contentValues(c Content) []any {
	vals := []any{c.Name, c.Description, c.AnlageNr, c.LegalBasis, c.Fachverfahren, c.Contact,
		textArray(c.LeikaKeys), c.URL, textArray(c.NachweiseFrom)}
	for _, s := range []Status{c.Readiness.IDNr, c.Readiness.NOOTS, c.Readiness.DSC} {
		var date any
		if s.TargetDate != "" {
			date = s.TargetDate
		}
		vals = append(vals, string(s.Stage), date, s.Note, s.EvidenceURL)
	}
	return vals
}

func dateString(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.DateOnly)
}

func (r entryRow) entry() Entry {
	return Entry{
		Kind:    Kind(r.Kind),
		Ressort: r.Ressort,
		Key:     r.Key,
		Content: Content{
			Name:          r.Name,
			Description:   r.Description,
			AnlageNr:      r.IdnrgAnlageNr,
			LegalBasis:    r.LegalBasis,
			Fachverfahren: r.Fachverfahren,
			Contact:       r.Contact,
			LeikaKeys:     nilIfEmpty(r.LeikaKeys),
			URL:           r.URL,
			NachweiseFrom: nilIfEmpty(r.NachweiseFrom),
			Readiness: Readiness{
				IDNr:  Status{Stage(r.IdnrStage), dateString(r.IdnrTargetDate), r.IdnrNote, r.IdnrEvidenceURL},
				NOOTS: Status{Stage(r.NootsStage), dateString(r.NootsTargetDate), r.NootsNote, r.NootsEvidenceURL},
				DSC:   Status{Stage(r.DscStage), dateString(r.DscTargetDate), r.DscNote, r.DscEvidenceURL},
			},
		},
		Version:   r.Version,
		CreatedAt: r.CreatedAt.UTC(),
		UpdatedAt: r.UpdatedAt.UTC(),
		UpdatedBy: r.UpdatedBy,
	}
}

func nilIfEmpty(a textArray) []string {
	if len(a) == 0 {
		return nil
	}
	return a
}

// entryStore owns the SQL of entries and nachweise. db is the pool or a transaction.
type entryStore struct{ db *gorm.DB }

// lock loads an entry for update; nil when it does not exist.
func (s entryStore) lock(ctx context.Context, kind Kind, ressort, key string) (*entryRow, error) {
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
func (s entryStore) insert(ctx context.Context, kind Kind, ressort, key string, c Content, actor string, now time.Time, ch *change) (entryRow, error) {
	args := append([]any{kind, ressort, key}, contentValues(c)...)
	args = append(args, now, now, actor)
	row, err := s.write(ctx, `INSERT INTO entries (kind, ressort, key, `+contentColumns+`,
		created_at, updated_at, updated_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args, kind, ressort, key, ch)
	if err != nil {
		return entryRow{}, fmt.Errorf("store: insert %s %s/%s: %w", kind, ressort, key, err)
	}
	return row, nil
}

// update replaces an entry's content and raises its version; with a change, its history is
// written by the same statement.
func (s entryStore) update(ctx context.Context, kind Kind, ressort, key string, id int64, c Content, actor string, now time.Time, ch *change) (entryRow, error) {
	cols := strings.Split(contentColumns, ",")
	set := make([]string, len(cols))
	for i, col := range cols {
		set[i] = strings.TrimSpace(col) + " = ?"
	}
	args := append(contentValues(c), now, actor, id)
	row, err := s.write(ctx, `UPDATE entries SET `+strings.Join(set, ", ")+`,
		version = version + 1, updated_at = ?, updated_by = ?
		WHERE id = ?`, args, kind, ressort, key, ch)
	if err != nil {
		return entryRow{}, fmt.Errorf("store: update entry %d: %w", id, err)
	}
	return row, nil
}

// change is the audit side of a write to an entry.
type change struct {
	actor, action string
	before, after *Content
	now           time.Time
}

// write runs a statement that writes one entries row. With a change, the same statement
// closes the entry's previous version, appends the new version and the event: a write pays
// for its history in rows, not in round trips. The version is copied with w.*, so
// entry_versions must keep the columns of entries in their order (migrations add both).
func (s entryStore) write(ctx context.Context, stmt string, args []any, kind Kind, ressort, key string, ch *change) (entryRow, error) {
	var row entryRow
	if ch == nil {
		err := s.db.WithContext(ctx).Raw(stmt+` RETURNING `+entryColumns, args...).Scan(&row).Error
		return row, err
	}
	changes, err := contentChanges(ch.before, ch.after)
	if err != nil {
		return entryRow{}, err
	}
	data, err := json.Marshal(changes)
	if err != nil {
		return entryRow{}, fmt.Errorf("encode event changes: %w", err)
	}
	args = append(args, ch.now, ch.now, ch.actor, ch.action, string(kind), ressort, key, string(data), ch.now)
	// entry_versions_close leaves the version this statement writes open (it closes only
	// older ones), whichever of the two PostgreSQL runs first; the main query names closed
	// so that it runs at all.
	err = s.db.WithContext(ctx).Raw(`WITH w AS (`+stmt+` RETURNING *),
		closed AS (SELECT entry_versions_close(ARRAY[w.id], ARRAY[w.version], ?) FROM w),
		event AS (INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
			VALUES (?, ?, ?, ?, ?, ?, CAST(? AS jsonb))),
		version AS (INSERT INTO entry_versions SELECT w.*, ?, NULL FROM w)
		SELECT `+prefixed("w", entryColumns)+` FROM w, closed`, args...).Scan(&row).Error
	return row, err
}

// delete removes an entry.
func (s entryStore) delete(ctx context.Context, id int64) error {
	if err := s.db.WithContext(ctx).Exec(`DELETE FROM entries WHERE id = ?`, id).Error; err != nil {
		return fmt.Errorf("store: delete entry %d: %w", id, err)
	}
	return nil
}

// registerIDs resolves register references to ids; missing ones are absent from the map.
func (s entryStore) registerIDs(ctx context.Context, refs []Ref) (map[Ref]int64, error) {
	out := make(map[Ref]int64, len(refs))
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
		FROM unnest(?::text[], ?::text[]) AS r(ressort, key)
		JOIN register_cards c ON c.ressort = r.ressort AND c.key = r.key`,
		textArray(codes), textArray(keys)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: resolve registers: %w", err)
	}
	for _, r := range rows {
		out[Ref{r.Ressort, r.Key}] = r.ID
	}
	return out, nil
}

// setNachweise replaces the registers an Onlinedienst draws Nachweise from.
func (s entryStore) setNachweise(ctx context.Context, onlinedienstID int64, registerIDs []int64) error {
	db := s.db.WithContext(ctx)
	if err := db.Exec(`DELETE FROM nachweise WHERE onlinedienst_id = ?`, onlinedienstID).Error; err != nil {
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
		SELECT ?, unnest(?::bigint[])`, onlinedienstID, ids).Error; err != nil {
		return fmt.Errorf("store: set nachweise of %d: %w", onlinedienstID, err)
	}
	return nil
}

// referencedBy tells who names a register in nachweise_from: the Onlinedienste the scope may
// read by address, those of other Ressorts only as a count per Ressort. PostgreSQL's
// register_references answers from past row-level security, and never names what the
// caller may not read.
func (s entryStore) referencedBy(ctx context.Context, registerID int64) (*ReferencedError, error) {
	refs, err := s.references(ctx, []int64{registerID})
	if err != nil {
		return nil, err
	}
	return refs[registerID], nil
}

// references is referencedBy for many registers; registers no one names are absent.
func (s entryStore) references(ctx context.Context, registerIDs []int64) (map[int64]*ReferencedError, error) {
	rows, err := s.db.Statement.ConnPool.QueryContext(ctx,
		`SELECT register_id, ressort, key FROM register_references($1::bigint[])`, registerIDs)
	if err != nil {
		return nil, fmt.Errorf("store: onlinedienste naming registers: %w", err)
	}
	defer rows.Close()
	out := map[int64]*ReferencedError{}
	for rows.Next() {
		var id int64
		var ressort string
		var key sql.NullString
		if err := rows.Scan(&id, &ressort, &key); err != nil {
			return nil, fmt.Errorf("store: onlinedienste naming registers: %w", err)
		}
		e := out[id]
		if e == nil {
			e = &ReferencedError{}
			out[id] = e
		}
		e.add(ressort, key.String, key.Valid)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: onlinedienste naming registers: %w", err)
	}
	return out, nil
}

// list returns one page of a listing, filtered by scope first, in one round trip with the
// scope for row-level security.
func (s entryStore) list(ctx context.Context, scope ReadScope, f Filter, codes []string, all bool, after *cursor, today string) ([]entryRow, error) {
	db := s.db.Session(&gorm.Session{DryRun: true, NewDB: true}).WithContext(ctx)
	q := db.Table("entries").Select(entryColumns).Where("kind = ?", f.Kind)
	if f.AsOf != nil {
		q = db.Table("entry_versions").Select(entryColumns).Where("kind = ?", f.Kind).
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
	for _, d := range Dimensions {
		if st, ok := f.Stages[d]; ok {
			q = q.Where(string(d)+"_stage = ?", string(st))
		}
	}
	if f.Overdue != nil {
		cond := "(" + overdueSQL + ")"
		if !*f.Overdue {
			cond = "NOT (" + overdueSQL + ")"
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
	stmt := q.Order("ressort, key").Limit(f.Limit + 1).Find(&[]entryRow{}).Statement
	if stmt.Error != nil {
		return nil, fmt.Errorf("store: list %s: %w", f.Kind, stmt.Error)
	}
	rows, err := queryEntriesIn(ctx, s.db, scope, f.Limit+1, stmt.SQL.String(), stmt.Vars...)
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", f.Kind, err)
	}
	return rows, nil
}

// overdueSQL is true for rows with at least one overdue dimension; its three parameters are
// today's date. It is the SQL twin of Readiness.Overdue.
const overdueSQL = `COALESCE(idnr_target_date < ?::date AND idnr_stage NOT IN ('live', 'not_applicable'), false)
	OR COALESCE(noots_target_date < ?::date AND noots_stage NOT IN ('live', 'not_applicable'), false)
	OR COALESCE(dsc_target_date < ?::date AND dsc_stage NOT IN ('live', 'not_applicable'), false)`

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
