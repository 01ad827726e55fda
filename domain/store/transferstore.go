package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/parallel"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// Transfers owns the set-based SQL of imports and exports: a hundred thousand entries are
// written by a handful of statements that carry their rows as arrays or go in by COPY, not
// by a statement per entry. Package transfer decides what they write.
type Transfers struct {
	db *gorm.DB
	// reads is where exports go (see For).
	reads lagging
}

// NewTransfers returns the SQL of imports and exports on db.
func NewTransfers(db *gorm.DB) *Transfers { return &Transfers{db: db} }

// Address names an entry: an import may name each at most once.
type Address struct {
	Kind         domain.Kind
	Ressort, Key string
}

// StoredEntry is an entry as the database holds it, with the id its row's writes name.
type StoredEntry struct {
	ID int64
	domain.Entry
}

func (r *entryRow) stored() StoredEntry { return StoredEntry{ID: r.ID, Entry: r.entry()} }

// SameContent reports whether two normalised contents are equal in every column: an
// import leaves an entry whose content it repeats unchanged.
func SameContent(a, b domain.Content) bool { return contentEqual(a, b) }

// ImportTx is the one transaction of an import, with the caller's scope set: all of an
// import is written, or nothing.
type ImportTx struct {
	db *gorm.DB
	// conn is the connection the transaction runs on, for COPY; nil on dry runs.
	conn *sql.Conn
}

// InReadTx runs fn in a read-only transaction: a dry run reads what the import would
// write, and writes nothing.
func (t *Transfers) InReadTx(ctx context.Context, scope domain.WriteScope, fn func(*ImportTx) error) error {
	return scopedTx(ctx, t.db, scope.Reads(), scope, &sql.TxOptions{ReadOnly: true}, func(tx *gorm.DB) error {
		return fn(&ImportTx{db: tx})
	})
}

// InTx runs fn in a transaction that may write. Two imports (or an import and a PUT) that
// create the same entry, or lock entries in crossing order, conflict; the loser runs fn
// once more and then sees the winner's rows.
func (t *Transfers) InTx(ctx context.Context, scope domain.WriteScope, fn func(*ImportTx) error) error {
	for attempt := 0; ; attempt++ {
		// COPY needs the driver's connection, so the transaction is pinned to one.
		err := t.db.WithContext(ctx).Connection(func(db *gorm.DB) error {
			conn, ok := db.Statement.ConnPool.(*sql.Conn)
			if !ok {
				return fmt.Errorf("store: import: pinned connection is a %T", db.Statement.ConnPool)
			}
			return db.Transaction(func(tx *gorm.DB) error {
				if err := setScope(ctx, tx, scope.Reads(), scope); err != nil {
					return err
				}
				return fn(&ImportTx{db: tx, conn: conn})
			})
		})
		if retryable(err) {
			if attempt < 2 {
				continue
			}
			return fmt.Errorf("store: import: %w after %d attempts: %w", domain.ErrBusy, attempt+1, err)
		}
		return err
	}
}

// retryable reports a unique violation, a deadlock or a serialization failure.
func retryable(err error) bool { return isUniqueViolation(err) || conflicted(err) }

// RessortCodes lists the codes of all Ressorts.
func (s *ImportTx) RessortCodes(ctx context.Context) ([]string, error) {
	var codes []string
	if err := s.db.WithContext(ctx).Raw(`SELECT code FROM ressorts`).Scan(&codes).Error; err != nil {
		return nil, fmt.Errorf("store: list ressort codes: %w", err)
	}
	return codes, nil
}

// LoadAddressed returns the existing entries of addrs, locked when the import will write.
// It passes the addresses as native arrays and scans by hand: at 100,000 items GORM's
// reflection and array literals cost more than the query.
func (s *ImportTx) LoadAddressed(ctx context.Context, addrs []Address, lock bool) (map[Address]StoredEntry, error) {
	kinds := make([]string, len(addrs))
	codes := make([]string, len(addrs))
	keys := make([]string, len(addrs))
	for i, a := range addrs {
		kinds[i], codes[i], keys[i] = string(a.Kind), a.Ressort, a.Key
	}
	suffix := ""
	if lock {
		// A fixed order keeps two imports from locking crosswise.
		suffix = ` ORDER BY e.id FOR UPDATE OF e`
	}
	rows, err := s.db.Statement.ConnPool.QueryContext(ctx, `SELECT `+joinColumns(entryTable, "e")+`
		FROM unnest($1::text[], $2::text[], $3::text[]) AS a(kind, ressort, key)
		JOIN entries e ON e.kind = a.kind AND e.ressort = a.ressort AND e.key = a.key`+suffix,
		kinds, codes, keys)
	if err != nil {
		return nil, fmt.Errorf("store: load the entries of an import: %w", err)
	}
	defer rows.Close()
	out := map[Address]StoredEntry{}
	var r entryRow
	dest := r.fields()
	for rows.Next() {
		r = entryRow{}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: read the entries of an import: %w", err)
		}
		out[Address{domain.Kind(r.Kind), r.Ressort, r.Key}] = r.stored()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read the entries of an import: %w", err)
	}
	return out, nil
}

// LoadRessort returns every entry of the kinds in a Ressort, for a full replacement,
// locked when the import will write.
func (s *ImportTx) LoadRessort(ctx context.Context, ressort string, kinds []domain.Kind, lock bool) ([]StoredEntry, error) {
	ks := make([]string, len(kinds))
	for i, k := range kinds {
		ks[i] = string(k)
	}
	suffix := ""
	if lock {
		suffix = ` FOR UPDATE`
	}
	rows, err := queryEntries(ctx, s.db, `SELECT `+entryColumns+` FROM entries
		WHERE ressort = $1 AND kind = ANY($2::text[]) ORDER BY kind, key`+suffix, ressort, ks)
	if err != nil {
		return nil, fmt.Errorf("store: load the entries of %s: %w", ressort, err)
	}
	out := make([]StoredEntry, len(rows))
	for i := range rows {
		out[i] = rows[i].stored()
	}
	return out, nil
}

// RegisterIDs resolves register references to ids; missing ones are absent from the map.
func (s *ImportTx) RegisterIDs(ctx context.Context, refs []domain.Ref) (map[domain.Ref]int64, error) {
	return entryStore{s.db}.registerIDs(ctx, refs)
}

// References tells, for each of the registers, who names it in nachweise_from (see
// entryStore.references); registers no one names are absent.
func (s *ImportTx) References(ctx context.Context, registerIDs []int64) (map[int64]*domain.ReferencedError, error) {
	return entryStore{s.db}.references(ctx, registerIDs)
}

// ImportPlan is everything an import writes, as package transfer decided it.
type ImportPlan struct {
	Actor string
	Now   time.Time
	// Writes are the entries the import creates or updates, in input order.
	Writes []ImportWrite
	// Deletes are the entries a full replacement removes.
	Deletes []StoredEntry
}

// ImportWrite is an entry an import creates (Current is nil) or whose content it replaces.
type ImportWrite struct {
	Address
	Content domain.Content
	// Current is the locked entry an update replaces.
	Current *StoredEntry
}

// planRow is an entry an import creates or updates, with what is computed for its writes.
type planRow struct {
	id      int64
	w       *ImportWrite
	changes string // the event's changes as JSON
	vals    []any  // the row's values, computed once for the entry and its version
}

// deletion is an entry a full replacement removes.
type deletion struct {
	id      int64
	kind    domain.Kind
	changes string
}

// importPlan is an ImportPlan as the statements write it.
type importPlan struct {
	actor   string
	now     time.Time
	rows    []planRow
	deleted []deletion
}

// newImportPlan computes, on all cores (it is the costliest part of an import that happens
// in Go), the event changes and the row values of every write, and the changes of every
// deletion.
func newImportPlan(p *ImportPlan) (*importPlan, error) {
	out := &importPlan{actor: p.Actor, now: p.Now, rows: make([]planRow, len(p.Writes))}
	for _, d := range p.Deletes {
		changes, err := changesJSON(&d.Content, nil)
		if err != nil {
			return nil, err
		}
		out.deleted = append(out.deleted, deletion{id: d.ID, kind: d.Kind, changes: changes})
	}
	errs := make([]error, len(p.Writes))
	parallel.For(len(p.Writes), func(i int) {
		r := &out.rows[i]
		r.w = &p.Writes[i]
		var before *domain.Content
		if r.w.Current != nil {
			before = &r.w.Current.Content
			r.id = r.w.Current.ID
		}
		if r.changes, errs[i] = changesJSON(before, &r.w.Content); errs[i] != nil {
			return
		}
		errs[i] = r.computeValues(p.Actor, p.Now)
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func changesJSON(before, after *domain.Content) (string, error) {
	changes, err := contentChanges(before, after)
	if err != nil {
		return "", err
	}
	return encodeChanges(changes)
}

// encodeChanges writes changes as json.Marshal would (PostgreSQL stores them as jsonb, so
// only the values matter), without reflection: an import encodes a hundred thousand.
func encodeChanges(changes map[string]domain.Change) (string, error) {
	keys := make([]string, 0, len(changes))
	for k := range changes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, 64*len(keys)+2)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, `:{"from":`...)
		var err error
		if b, err = appendJSONValue(b, changes[k].From); err != nil {
			return "", err
		}
		b = append(b, `,"to":`...)
		if b, err = appendJSONValue(b, changes[k].To); err != nil {
			return "", err
		}
		b = append(b, '}')
	}
	return string(append(b, '}')), nil
}

func appendJSONValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, v), nil
	case float64:
		return strconv.AppendFloat(b, v, 'f', -1, 64), nil
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSONValue(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode event changes: %w", err)
	}
	return append(b, data...), nil
}

// appendJSONString quotes s for JSON. Content is valid UTF-8 by then (the field rules see
// to it); anything else goes through encoding/json, which replaces what is not.
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		data, _ := json.Marshal(s)
		return append(b, data...)
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// computeValues sets the values of entryTable for the row as the import writes it; its
// entry and its version are written from the very same values. The id of a new entry is
// drawn later (assignIDs) and set in vals then.
func (r *planRow) computeValues(actor string, now time.Time) error {
	e := domain.Entry{Kind: r.w.Kind, Ressort: r.w.Ressort, Key: r.w.Key, Content: r.w.Content,
		Version: 1, CreatedAt: now, UpdatedAt: now, UpdatedBy: actor}
	if cur := r.w.Current; cur != nil {
		e.Version, e.CreatedAt = cur.Version+1, cur.CreatedAt
	}
	vals, err := values(entryTable, r.id, &e)
	if err != nil {
		return fmt.Errorf("store: import: %w", err)
	}
	r.vals = vals
	return nil
}

// Apply writes a plan in the import's transaction. Deletions come first (Onlinedienste,
// then the registers no one names any more), nachweise last; in between every written row
// goes by one COPY into one staging table, from which the updates, the new entries, the
// versions of all and their events are written set-based (see writeRows). This is the one
// place that unwraps the connection to pgx, for COPY.
func (s *ImportTx) Apply(ctx context.Context, plan *ImportPlan) error {
	if s.conn == nil {
		return errors.New("store: import: no connection to COPY on")
	}
	p, err := newImportPlan(plan)
	if err != nil {
		return err
	}
	pool := s.db.Statement.ConnPool
	exec := func(what, stmt string, args ...any) error {
		if _, err := pool.ExecContext(ctx, stmt, args...); err != nil {
			return fmt.Errorf("store: import: %s: %w", what, err)
		}
		return nil
	}
	// Room to sort and join a hundred thousand rows in memory.
	if err := exec("set work_mem", `SET LOCAL work_mem = '64MB'`); err != nil {
		return err
	}
	for _, kind := range []domain.Kind{domain.KindOnlinedienst, domain.KindRegister} {
		var ids []int64
		var changes []string
		for _, d := range p.deleted {
			if d.kind == kind {
				ids = append(ids, d.id)
				changes = append(changes, d.changes)
			}
		}
		if len(ids) > 0 {
			err := exec("delete "+string(kind)+"s", `WITH d AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS d(id, changes)),
				del AS (DELETE FROM entries e USING d WHERE e.id = d.id RETURNING e.id, e.kind, e.ressort, e.key),
				closed AS (SELECT entry_versions_close(array_agg(del.id), array_agg(NULL::bigint), $3) FROM del)
				INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
				SELECT $3, $4, 'deleted', del.kind, del.ressort, del.key, d.changes::jsonb
				FROM del JOIN d ON d.id = del.id CROSS JOIN closed ORDER BY del.ressort, del.key`, ids, changes, p.now, p.actor)
			if err != nil {
				return err
			}
		}
		if kind == domain.KindOnlinedienst {
			// The registers the updated Onlinedienste stop naming must be free before they go.
			var ods []int64
			for _, r := range p.rows {
				if r.w.Current != nil && r.w.Kind == domain.KindOnlinedienst {
					ods = append(ods, r.id)
				}
			}
			if len(ods) > 0 {
				if err := exec("clear nachweise", `DELETE FROM nachweise WHERE onlinedienst_id = ANY($1::bigint[])`, ods); err != nil {
					return err
				}
			}
		}
	}
	err = s.conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		if err := assignIDs(ctx, pc, p); err != nil {
			return err
		}
		return writeRows(ctx, pc, p)
	})
	if err != nil {
		return err
	}
	var ods []int64
	for _, r := range p.rows {
		if r.w.Kind == domain.KindOnlinedienst && len(r.w.Content.NachweiseFrom) > 0 {
			ods = append(ods, r.id)
		}
	}
	if len(ods) == 0 {
		return nil
	}
	return exec("set nachweise", `INSERT INTO nachweise (onlinedienst_id, register_id)
		SELECT o.id, reg.id
		FROM entries o CROSS JOIN LATERAL unnest(o.nachweise_from) AS ref(s)
		JOIN entries reg ON reg.kind = 'register' AND reg.ressort = split_part(ref.s, '/', 1) AND
			reg.key = split_part(ref.s, '/', 2)
		WHERE o.id = ANY($1::bigint[])`, ods)
}

// writeRows writes the rows of a plan: it COPYs each once, with its action and its event's
// changes, into a staging table, and from there one UPDATE replaces the updated entries,
// one INSERT each adds the new entries, a version of every written entry and its event.
// PostgreSQL refuses COPY FROM into a table with row-level security, so the rows must pass
// through a table without; one staging table for all three (rather than one per table)
// sends, encodes and stores each row once, and every version is its entry's row. A column
// that holds its default in every row is left out of the staging table and to its default:
// registers carry no Onlinedienst fields, and most rows leave notes and links empty.
func writeRows(ctx context.Context, pc *pgx.Conn, p *importPlan) error {
	if len(p.rows) == 0 {
		return nil
	}
	keep := make([]bool, len(entryTable))
	for c, col := range entryTable {
		keep[c] = col.isDefault == nil
	}
	updates := false
	for i := range p.rows {
		updates = updates || p.rows[i].w.Current != nil
		for c, v := range p.rows[i].vals {
			keep[c] = keep[c] || !entryTable[c].isDefault(v)
		}
	}
	var names, set []string
	for c, col := range entryTable {
		if keep[c] {
			names = append(names, col.name)
		}
		if r := col.role; r == roleContent || r == roleVersion || r == roleUpdated {
			if keep[c] {
				set = append(set, col.name+" = r."+col.name)
			} else {
				set = append(set, col.name+" = DEFAULT") // the default in every updated row too
			}
		}
	}
	list := strings.Join(names, ", ")
	// COPY's binary format must know the stage domain's type.
	if _, ok := pc.TypeMap().TypeForName("stage"); !ok {
		t, err := pc.LoadType(ctx, "stage")
		if err != nil {
			return fmt.Errorf("store: import: load type stage: %w", err)
		}
		pc.TypeMap().RegisterType(t)
	}
	if _, err := pc.Exec(ctx, `CREATE TEMP TABLE import_rows ON COMMIT DROP AS
		SELECT `+list+`, ''::text AS action, ''::text AS changes FROM entries WITH NO DATA`); err != nil {
		return fmt.Errorf("store: import: create staging table: %w", err)
	}
	width := len(names) + 2
	src := pgx.CopyFromSlice(len(p.rows), func(i int) ([]any, error) {
		r := &p.rows[i]
		out := make([]any, 0, width)
		for c, v := range r.vals {
			if keep[c] {
				out = append(out, v)
			}
		}
		action := domain.ActionUpdated
		if r.w.Current == nil {
			action = domain.ActionCreated
		}
		return append(out, action, r.changes), nil
	})
	n, err := pc.CopyFrom(ctx, pgx.Identifier{"import_rows"}, append(names, "action", "changes"), src)
	if err != nil {
		return fmt.Errorf("store: import: copy into import_rows: %w", err)
	}
	if n != int64(len(p.rows)) {
		return fmt.Errorf("store: import: copied %d rows into import_rows, want %d", n, len(p.rows))
	}
	if updates {
		if _, err := pc.Exec(ctx, `UPDATE entries e SET `+strings.Join(set, ", ")+`
			FROM import_rows r WHERE e.id = r.id AND r.action = $1`, domain.ActionUpdated); err != nil {
			return fmt.Errorf("store: import: update: %w", err)
		}
		if _, err := pc.Exec(ctx, `SELECT entry_versions_close(array_agg(id), array_agg(version), $1)
			FROM import_rows WHERE action = $2`, p.now, domain.ActionUpdated); err != nil {
			return fmt.Errorf("store: import: close versions: %w", err)
		}
	}
	if _, err := pc.Exec(ctx, `INSERT INTO entries (`+list+`) OVERRIDING SYSTEM VALUE
		SELECT `+list+` FROM import_rows WHERE action = $1`, domain.ActionCreated); err != nil {
		return fmt.Errorf("store: import: insert entries: %w", err)
	}
	if _, err := pc.Exec(ctx, `INSERT INTO entry_versions (`+list+`, valid_from)
		SELECT `+list+`, $1 FROM import_rows`, p.now); err != nil {
		return fmt.Errorf("store: import: insert versions: %w", err)
	}
	// The events in the plan's order, as the staging table holds the rows.
	if _, err := pc.Exec(ctx, `INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
		SELECT $1, $2, action, kind, ressort, key, changes::jsonb FROM import_rows`, p.now, p.actor); err != nil {
		return fmt.Errorf("store: import: insert events: %w", err)
	}
	return nil
}

// assignIDs gives every new row its entry id, drawn from the entries' sequence, so that
// versions and events can be written without reading the entries back.
func assignIDs(ctx context.Context, pc *pgx.Conn, p *importPlan) error {
	created := 0
	for i := range p.rows {
		if p.rows[i].w.Current == nil {
			created++
		}
	}
	if created == 0 {
		return nil
	}
	// One array rather than 100,000 rows; the sequence is resolved once (MATERIALIZED keeps
	// the planner from inlining it into every row), not per row.
	var ids []int64
	err := pc.QueryRow(ctx, `WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('entries', 'id')::regclass AS seq)
		SELECT array_agg(nextval(s.seq)) FROM s, generate_series(1, $1)`, created).Scan(&ids)
	if err != nil || len(ids) != created {
		return fmt.Errorf("store: import: draw ids: %w (%d of %d)", err, len(ids), created)
	}
	next := 0
	for i := range p.rows {
		if r := &p.rows[i]; r.w.Current == nil {
			r.id = ids[next]
			r.vals[0] = r.id // entryTable starts with the id
			next++
		}
	}
	return nil
}

// Export hands every entry of the kinds that the scope may read (and, when ressorts is not
// empty, that lies in one of them) to yield, kind by kind in the order given, then by Ressort and key. All
// kinds are read from one snapshot, so that an export taken while others write still
// imports back consistently. Rows are streamed, never collected.
func (t *Transfers) Export(ctx context.Context, scope domain.ReadScope, ressorts []string, kinds []domain.Kind, yield func(domain.Entry) error) error {
	codes, all := restrict(scope, ressorts)
	if !all && len(codes) == 0 {
		return nil
	}
	// A replica that fails before the first row was handed on leaves the export to the
	// primary; after it, the rows already sent cannot be taken back.
	sent := false
	sentYield := func(e domain.Entry) error {
		sent = true
		return yield(e)
	}
	return t.reads.run(ctx, t.db, func() bool { return !sent }, func(db *gorm.DB) error {
		return t.export(ctx, db, scope, codes, all, kinds, sentYield)
	})
}

func (t *Transfers) export(ctx context.Context, db *gorm.DB, scope domain.ReadScope, codes []string, all bool, kinds []domain.Kind, yield func(domain.Entry) error) error {
	return scopedTx(ctx, db, scope, domain.WriteScope{}, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}, func(tx *gorm.DB) error {
		for _, kind := range kinds {
			q := tx.Table("entries").Select(entryColumns).Where("kind = ?", kind)
			if !all {
				q = q.Where("ressort = ANY(?::text[])", textArray(codes))
			}
			rows, err := q.Order("ressort, key").Rows()
			if err != nil {
				return fmt.Errorf("store: export %s: %w", kind, err)
			}
			if err := yieldRows(rows, yield); err != nil {
				return fmt.Errorf("store: export %s: %w", kind, err)
			}
		}
		return nil
	})
}

// yieldRows hands rows of entries to yield one by one and closes them.
func yieldRows(rows *sql.Rows, yield func(domain.Entry) error) error {
	defer rows.Close()
	var r entryRow
	dest := r.fields()
	for rows.Next() {
		r = entryRow{}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := yield(r.entry()); err != nil {
			return err
		}
	}
	return rows.Err()
}
