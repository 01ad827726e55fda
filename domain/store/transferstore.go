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

// newImportPlan computes the event changes of every write, on all cores (it is the
// costliest part of an import that happens in Go), and of every deletion.
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
		}
		r.changes, errs[i] = changesJSON(before, &r.w.Content)
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

// The columns COPY writes: those of entries (entryTable) into entries, with versionColumns
// into entry_versions, and with the row's position into the staging table of updates.
var (
	entryCopyColumns   = slices.Concat(entryTable)
	versionCopyColumns = slices.Concat(entryTable, versionColumns)
	eventCopyColumns   = []string{"at", "actor", "action", "entity_type", "ressort", "key", "changes"}
	stagingColumns     = slices.Concat([]entryColumn{{name: "ord"}}, entryTable)
)

// stagingTable holds the updated rows of an import for the set-based UPDATE; it is filled
// by COPY and dropped at commit.
const stagingTable = `CREATE TEMP TABLE import_rows (ord int NOT NULL, LIKE entries) ON COMMIT DROP`

// rowValues are the values of entryCopyColumns for a row as the import writes it.
func (r *planRow) rowValues(id int64, actor string, now time.Time) ([]any, error) {
	if r.vals != nil {
		// The entry and its version are written from the very same values.
		return r.vals, nil
	}
	e := domain.Entry{Kind: r.w.Kind, Ressort: r.w.Ressort, Key: r.w.Key, Content: r.w.Content,
		Version: 1, CreatedAt: now, UpdatedAt: now, UpdatedBy: actor}
	if cur := r.w.Current; cur != nil {
		e.Version, e.CreatedAt = cur.Version+1, cur.CreatedAt
	}
	vals, err := values(entryTable, id, &e)
	if err != nil {
		return nil, fmt.Errorf("store: import: %w", err)
	}
	r.vals = vals
	return vals, nil
}

// Apply writes a plan in the import's transaction. New entries, all new versions and all
// events go in by COPY, computed once in Go from the same values, so that each new version
// equals its entry's row; updates go through a staging table and one UPDATE. Deletions come
// first (Onlinedienste, then the registers no one names any more), nachweise last. This is
// the one place that unwraps the connection to pgx, for COPY.
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
	for i := range p.rows {
		if r := &p.rows[i]; r.w.Current != nil {
			r.id = r.w.Current.ID
		}
	}
	var created, updated []*planRow
	for i := range p.rows {
		if p.rows[i].w.Current == nil {
			created = append(created, &p.rows[i])
		} else {
			updated = append(updated, &p.rows[i])
		}
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
			for _, r := range updated {
				if r.w.Kind == domain.KindOnlinedienst {
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
		// COPY's binary format must know the stage domain's type.
		if _, ok := pc.TypeMap().TypeForName("stage"); !ok {
			t, err := pc.LoadType(ctx, "stage")
			if err != nil {
				return fmt.Errorf("store: import: load type stage: %w", err)
			}
			pc.TypeMap().RegisterType(t)
		}
		if err := s.copyRows(ctx, pc, "entries", entryCopyColumns, created, p, nil); err != nil {
			return err
		}
		if len(updated) > 0 {
			if _, err := pc.Exec(ctx, stagingTable); err != nil {
				return fmt.Errorf("store: import: create staging table: %w", err)
			}
			if err := s.copyRows(ctx, pc, "import_rows", stagingColumns, updated, p, func(r *planRow, vals []any) []any {
				return append([]any{int32(0)}, vals...)
			}); err != nil {
				return err
			}
			var set []string
			for _, c := range columnsWith(roleContent, roleVersion, roleUpdated) {
				set = append(set, c.name+" = r."+c.name)
			}
			if _, err := pc.Exec(ctx, `UPDATE entries e SET `+strings.Join(set, ", ")+`
				FROM import_rows r WHERE e.id = r.id`); err != nil {
				return fmt.Errorf("store: import: update: %w", err)
			}
			if _, err := pc.Exec(ctx, `SELECT entry_versions_close(array_agg(id), array_agg(version), $1)
				FROM import_rows`, p.now); err != nil {
				return fmt.Errorf("store: import: close versions: %w", err)
			}
		}
		all := make([]*planRow, len(p.rows))
		for i := range p.rows {
			all[i] = &p.rows[i]
		}
		if err := s.copyRows(ctx, pc, "entry_versions", versionCopyColumns, all, p, func(_ *planRow, vals []any) []any {
			return append(vals, p.now, nil)
		}); err != nil {
			return err
		}
		src := pgx.CopyFromSlice(len(all), func(i int) ([]any, error) {
			r := all[i]
			action := domain.ActionUpdated
			if r.w.Current == nil {
				action = domain.ActionCreated
			}
			return []any{p.now, p.actor, action, string(r.w.Kind), r.w.Ressort, r.w.Key, r.changes}, nil
		})
		_, err := copyIn(ctx, pc, "events", eventCopyColumns, src)
		return err
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

// copyRows COPYs rows into a table; extend adapts the entry values to the table's columns.
func (s *ImportTx) copyRows(ctx context.Context, pc *pgx.Conn, table string, columns []entryColumn, rows []*planRow, p *importPlan, extend func(*planRow, []any) []any) error {
	if len(rows) == 0 {
		return nil
	}
	values := func(i int) ([]any, error) {
		vals, err := rows[i].rowValues(rows[i].id, p.actor, p.now)
		if err != nil {
			return nil, err
		}
		if extend != nil {
			vals = extend(rows[i], vals)
		}
		return vals, nil
	}
	keep := make([]bool, len(columns))
	for c, col := range columns {
		// The staging table has no defaults: every column goes.
		keep[c] = table == "import_rows" || col.isDefault == nil
	}
	if table != "import_rows" {
		// A column that holds its default in every row is left to the default: registers
		// carry no Onlinedienst fields, and most rows leave notes and links empty.
		for i := range rows {
			vals, err := values(i)
			if err != nil {
				return err
			}
			for c, v := range vals {
				keep[c] = keep[c] || !columns[c].isDefault(v)
			}
		}
	}
	var cols []string
	for c, k := range keep {
		if k {
			cols = append(cols, columns[c].name)
		}
	}
	src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		vals, err := values(i)
		if err != nil || len(cols) == len(columns) {
			return vals, err
		}
		out := make([]any, 0, len(cols))
		for c, v := range vals {
			if keep[c] {
				out = append(out, v)
			}
		}
		return out, nil
	})
	n, err := copyIn(ctx, pc, table, cols, src)
	if err != nil {
		return err
	}
	if n != int64(len(rows)) {
		return fmt.Errorf("store: import: copied %d rows into %s, want %d", n, table, len(rows))
	}
	return nil
}

// copyIn COPYs rows into table. PostgreSQL refuses COPY FROM into a table with row-level
// security, so rows bound for one go by COPY into a temporary table of the same shape first
// and then by one INSERT, which the policies check row by row.
func copyIn(ctx context.Context, pc *pgx.Conn, table string, cols []string, src pgx.CopyFromSource) (int64, error) {
	if table == "import_rows" {
		n, err := pc.CopyFrom(ctx, pgx.Identifier{table}, cols, src)
		if err != nil {
			return 0, fmt.Errorf("store: import: copy into %s: %w", table, err)
		}
		return n, nil
	}
	// The staging table has just the copied columns; the INSERT leaves the others to the
	// table's defaults.
	staging, list := "copy_"+table, strings.Join(cols, ", ")
	if _, err := pc.Exec(ctx, `CREATE TEMP TABLE `+staging+` ON COMMIT DROP AS SELECT `+list+` FROM `+table+` WITH NO DATA`); err != nil {
		return 0, fmt.Errorf("store: import: create %s: %w", staging, err)
	}
	if _, err := pc.CopyFrom(ctx, pgx.Identifier{staging}, cols, src); err != nil {
		return 0, fmt.Errorf("store: import: copy into %s: %w", staging, err)
	}
	tag, err := pc.Exec(ctx, `INSERT INTO `+table+` (`+list+`) OVERRIDING SYSTEM VALUE SELECT `+list+` FROM `+staging)
	if err != nil {
		return 0, fmt.Errorf("store: import: insert into %s: %w", table, err)
	}
	return tag.RowsAffected(), nil
}

// assignIDs gives every row its entry id: the current one, or one drawn from the entries'
// sequence, so that versions and events can be written without reading the entries back.
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
		if p.rows[i].w.Current == nil {
			p.rows[i].id = ids[next]
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
