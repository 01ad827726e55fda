package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/bremen/regmo/domain"
)

// entryTable declares the columns of entries once, in the table's order: what each holds,
// where a row and an Entry keep it, and its SQL default. Every select and scan list, INSERT,
// UPDATE, COPY, version copy, history document and content comparison is derived from it.
// The content columns are derived in turn from domain.ContentFields, so a field is added
// there, in Content and in the migration (TestEntryTableMatchesMigrations keeps the two
// equal). entry_versions has the same columns plus versionColumns.
var entryTable = slices.Concat(
	[]entryColumn{
		idColumn(),
		metaColumn("kind", roleAddress, "", func(r *entryRow) *string { return &r.Kind }, func(e *domain.Entry) *string { return (*string)(&e.Kind) }),
		metaColumn("ressort", roleAddress, "", func(r *entryRow) *string { return &r.Ressort }, func(e *domain.Entry) *string { return &e.Ressort }),
		metaColumn("key", roleAddress, "", func(r *entryRow) *string { return &r.Key }, func(e *domain.Entry) *string { return &e.Key }),
	},
	contentColumns(domain.ContentFields),
	[]entryColumn{
		metaColumn("version", roleVersion, "1", func(r *entryRow) *int64 { return &r.Version }, func(e *domain.Entry) *int64 { return &e.Version }),
		timeColumn("created_at", roleCreated, func(r *entryRow) *time.Time { return &r.CreatedAt }, func(e *domain.Entry) *time.Time { return &e.CreatedAt }),
		timeColumn("updated_at", roleUpdated, func(r *entryRow) *time.Time { return &r.UpdatedAt }, func(e *domain.Entry) *time.Time { return &e.UpdatedAt }),
		metaColumn("updated_by", roleUpdated, "''::text", func(r *entryRow) *string { return &r.UpdatedBy }, func(e *domain.Entry) *string { return &e.UpdatedBy }),
	},
)

// entryRow is one row of entries (or entry_versions without its validity) as it is scanned:
// the content columns land in Content itself, through the fields' accessors.
type entryRow struct {
	ID        int64
	Kind      string
	Ressort   string
	Key       string
	Content   domain.Content
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	UpdatedBy string
}

// versionColumns are what entry_versions adds to the columns of entries: when a version
// began, and when it ended (NULL while it is current).
var versionColumns = []entryColumn{
	{name: "valid_from"},
	{name: "valid_to", isDefault: func(v any) bool { return v == nil }},
}

// columnRole says which writes set a column.
type columnRole uint8

const (
	// roleID is drawn from the table's identity: an INSERT leaves it out, COPY names it.
	roleID columnRole = iota
	// roleAddress is set by the INSERT and never changes.
	roleAddress
	// roleContent is what a Ressort writes: every write sets it.
	roleContent
	// roleVersion starts at its default, 1, and is raised by every UPDATE.
	roleVersion
	// roleCreated is set by the INSERT.
	roleCreated
	// roleUpdated is set by every write.
	roleUpdated
)

// entryColumn is one column of entries. Its functions are built once (see the
// constructors below), so reading and writing a row costs calls, not reflection.
type entryColumn struct {
	name string
	role columnRole
	// sqlDefault is the column's DEFAULT as information_schema.columns shows it, "" for
	// none.
	sqlDefault string
	// scan is the column's destination in a row, for database/sql; native is the same for
	// pgx's own scanning, which decodes text[] itself (nil: as scan).
	scan, native func(*entryRow) any
	// load sets the entry's field from the row (content columns: load the whole content).
	load func(*entryRow, *domain.Entry)
	// value is what a write stores for the entry (id is the row's), as pgx encodes it in
	// a statement or in COPY's binary format.
	value func(id int64, e *domain.Entry) (any, error)
	// isDefault reports whether a value is what the column holds when a write leaves it
	// out; nil for the columns every write names.
	isDefault func(v any) bool

	// Content columns only. path is the field's name in the API's JSON document and in
	// the changes of events (readiness.idnr.stage); flat adds the field to that document
	// (see contentFields); equal compares it in two contents.
	path  string
	flat  func(c *domain.Content, out map[string]any)
	equal func(a, b *domain.Content) bool
	// kinds are the kinds whose entries fill the column (see domain.Field's Kinds).
	kinds []domain.Kind
}

func idColumn() entryColumn {
	return entryColumn{name: "id", role: roleID,
		scan:  func(r *entryRow) any { return &r.ID },
		load:  func(*entryRow, *domain.Entry) {},
		value: func(id int64, _ *domain.Entry) (any, error) { return id, nil }}
}

// metaColumn is an address or bookkeeping column, stored as the entry holds it.
func metaColumn[T any](name string, role columnRole, sqlDefault string, row func(*entryRow) *T, field func(*domain.Entry) *T) entryColumn {
	return entryColumn{name: name, role: role, sqlDefault: sqlDefault,
		scan:  func(r *entryRow) any { return row(r) },
		load:  func(r *entryRow, e *domain.Entry) { *field(e) = *row(r) },
		value: func(_ int64, e *domain.Entry) (any, error) { return *field(e), nil }}
}

// timeColumn is a timestamptz column; entries show it in UTC, whatever the session's time
// zone.
func timeColumn(name string, role columnRole, row func(*entryRow) *time.Time, field func(*domain.Entry) *time.Time) entryColumn {
	c := metaColumn(name, role, "", row, field)
	c.load = func(r *entryRow, e *domain.Entry) { *field(e) = row(r).UTC() }
	return c
}

// contentColumns are the columns of the content fields, one per field, named as the field.
// The first loads the whole content: the others' load does nothing, since the fields are
// scanned into the row's content in place.
func contentColumns(fields []domain.Field) []entryColumn {
	cols := make([]entryColumn, len(fields))
	for i, f := range fields {
		var c entryColumn
		switch f.Type {
		case domain.FieldNumber:
			c = numberColumn(f)
		case domain.FieldList:
			c = listColumn(f)
		case domain.FieldDate:
			c = dateColumn(f)
		default:
			c = textColumn(f)
		}
		c.name, c.path, c.role, c.kinds = f.Name, f.Path, roleContent, f.Kinds
		c.load = func(*entryRow, *domain.Entry) {}
		cols[i] = c
	}
	cols[0].load = loadContent
	return cols
}

// loadContent sets the entry's content from the row's.
func loadContent(r *entryRow, e *domain.Entry) {
	e.Content = r.Content
	for _, f := range domain.ContentFields {
		// An entry holds an empty list as nil.
		if f.Type == domain.FieldList && len(*f.List(&e.Content)) == 0 {
			*f.List(&e.Content) = nil
		}
	}
}

// kindTable are the columns of entryTable an entry of the kind fills: every column but the
// content of the other kind, which the rules keep empty (domain.Field's Kinds). A read of
// one kind selects and scans only these; the row's other fields stay empty, as the columns
// are.
func kindTable(kind domain.Kind) []entryColumn {
	var out []entryColumn
	for _, c := range entryTable {
		if c.role == roleContent && !slices.Contains(c.kinds, kind) {
			continue
		}
		out = append(out, c)
	}
	// The first content column loads the whole content (see contentColumns), whichever it is.
	for i := range out {
		if out[i].role == roleContent {
			out[i].load = loadContent
			break
		}
	}
	return out
}

// kindRead is the select list of one kind's entries, its scan columns and the statement of
// GET one, which runs on every such request.
type kindRead struct {
	cols []entryColumn
	list string
	get  fixedQuery
}

func newKindRead(cols []entryColumn) kindRead {
	list := joinColumns(cols, "")
	return kindRead{cols: cols, list: list, get: newFixedQuery(`SELECT `+list+` FROM entries
		WHERE kind = $1 AND ressort = $2 AND key = $3`, cols)}
}

// kindReads are the reads of each kind and allRead that of every column, built once; readOf
// is their lookup.
var (
	kindReads = map[domain.Kind]kindRead{
		domain.KindRegister:     newKindRead(kindTable(domain.KindRegister)),
		domain.KindOnlinedienst: newKindRead(kindTable(domain.KindOnlinedienst)),
	}
	allRead = newKindRead(entryTable)
)

// readOf is the read of the kind's entries; an unknown kind reads every column.
func readOf(kind domain.Kind) kindRead {
	if r, ok := kindReads[kind]; ok {
		return r
	}
	return allRead
}

// textColumn is text; shown fields (the name) have no default and are in every JSON
// document, the others default to the empty string and are left out when empty. A stage
// defaults to not_started.
func textColumn(f domain.Field) entryColumn {
	c := entryColumn{sqlDefault: "''::text",
		scan:      func(r *entryRow) any { return f.Text(&r.Content) },
		value:     func(_ int64, e *domain.Entry) (any, error) { return *f.Text(&e.Content), nil },
		isDefault: func(v any) bool { return v == "" },
		flat: func(c *domain.Content, out map[string]any) {
			if v := *f.Text(c); f.Shown || v != "" {
				out[f.Path] = v
			}
		},
		equal: func(a, b *domain.Content) bool { return *f.Text(a) == *f.Text(b) }}
	switch {
	case f.Type == domain.FieldStage:
		c.sqlDefault = "'" + string(domain.StageNotStarted) + "'::text" // the domain stage over text
		c.isDefault = func(v any) bool { return v == string(domain.StageNotStarted) }
	case f.Shown:
		c.sqlDefault, c.isDefault = "", nil
	}
	return c
}

// numberColumn is a nullable integer; JSON documents hold numbers as float64.
func numberColumn(f domain.Field) entryColumn {
	return entryColumn{
		scan: func(r *entryRow) any { return f.Number(&r.Content) },
		value: func(_ int64, e *domain.Entry) (any, error) {
			if n := *f.Number(&e.Content); n != nil {
				return int32(*n), nil
			}
			return nil, nil
		},
		isDefault: func(v any) bool { return v == nil },
		flat: func(c *domain.Content, out map[string]any) {
			if n := *f.Number(c); n != nil {
				out[f.Path] = float64(*n)
			}
		},
		equal: func(a, b *domain.Content) bool {
			x, y := *f.Number(a), *f.Number(b)
			return (x == nil && y == nil) || (x != nil && y != nil && *x == *y)
		}}
}

// listColumn is text[] NOT NULL DEFAULT '{}'; an entry holds an empty list as nil, and the
// JSON document leaves it out.
func listColumn(f domain.Field) entryColumn {
	return entryColumn{sqlDefault: "'{}'::text[]",
		scan:   func(r *entryRow) any { return (*textArray)(f.List(&r.Content)) },
		native: func(r *entryRow) any { return f.List(&r.Content) },
		value: func(_ int64, e *domain.Entry) (any, error) {
			if l := *f.List(&e.Content); l != nil {
				return l, nil
			}
			return []string{}, nil
		},
		isDefault: func(v any) bool { return len(v.([]string)) == 0 },
		flat: func(c *domain.Content, out map[string]any) {
			if vs := *f.List(c); len(vs) > 0 {
				l := make([]any, len(vs))
				for i, v := range vs {
					l[i] = v
				}
				out[f.Path] = l
			}
		},
		equal: func(a, b *domain.Content) bool { return slices.Equal(*f.List(a), *f.List(b)) }}
}

// dateColumn is a nullable date; an entry holds it as YYYY-MM-DD, empty for NULL.
func dateColumn(f domain.Field) entryColumn {
	c := textColumn(f)
	c.sqlDefault = ""
	c.scan = func(r *entryRow) any { return dateText{f.Text(&r.Content)} }
	c.value = func(_ int64, e *domain.Entry) (any, error) {
		s := *f.Text(&e.Content)
		if s == "" {
			return nil, nil
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", f.Name, s, err)
		}
		return pgtype.Date{Time: d, Valid: true}, nil
	}
	c.isDefault = func(v any) bool { return v == nil }
	return c
}

// dateText scans a date column into a YYYY-MM-DD string, "" for NULL; database/sql and pgx
// both hand it a time.Time.
type dateText struct{ s *string }

// Scan implements sql.Scanner.
func (d dateText) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.s = ""
	case time.Time:
		*d.s = v.Format(time.DateOnly)
	case string:
		*d.s = v
	case []byte:
		*d.s = string(v)
	default:
		return fmt.Errorf("store: date column: cannot scan %T", src)
	}
	return nil
}

// The lists and statements derived from entryTable, built once.
var (
	// entryColumns is the select list of an entry, in entryTable's order: what fields and
	// nativeFields scan.
	entryColumns = joinColumns(entryTable, "")
	// contentTable are the columns a Ressort writes.
	contentTable = columnsWith(roleContent)
	// insertTable are the columns an INSERT names: all but the id and the version.
	insertTable = columnsWith(roleAddress, roleContent, roleCreated, roleUpdated)
	// updateTable are the columns an UPDATE sets from its values; it raises the version
	// itself.
	updateTable = columnsWith(roleContent, roleUpdated)
)

func columnsWith(roles ...columnRole) []entryColumn {
	var out []entryColumn
	for _, c := range entryTable {
		if slices.Contains(roles, c.role) {
			out = append(out, c)
		}
	}
	return out
}

// joinColumns lists the columns' names for SQL, each prefixed with alias when it is set.
func joinColumns(cols []entryColumn, alias string) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
		if alias != "" {
			names[i] = alias + "." + c.name
		}
	}
	return strings.Join(names, ", ")
}

// placeholders returns "$from, $from+1, …" for n parameters.
func placeholders(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(ps, ", ")
}

// fields are the scan destinations of entryColumns, for database/sql.
func (r *entryRow) fields() []any {
	f := make([]any, len(entryTable))
	for i := range entryTable {
		f[i] = entryTable[i].scan(r)
	}
	return f
}

// nativeFields are the scan destinations of cols (entryTable or a kindTable) for pgx's own
// scanning.
func (r *entryRow) nativeFields(cols []entryColumn) []any {
	f := make([]any, len(cols))
	for i := range cols {
		if native := cols[i].native; native != nil {
			f[i] = native(r)
		} else {
			f[i] = cols[i].scan(r)
		}
	}
	return f
}

func (r *entryRow) entry() domain.Entry {
	var e domain.Entry
	r.loadInto(&e)
	return e
}

// loadInto fills e from the row; a list page fills its entries in place, so that no entry is
// copied on the way.
func (r *entryRow) loadInto(e *domain.Entry) {
	for i := range entryTable {
		entryTable[i].load(r, e)
	}
}

// values are what a write stores in cols for the entry; id is the row's.
func values(cols []entryColumn, id int64, e *domain.Entry) ([]any, error) {
	vals := make([]any, len(cols), len(cols)+len(versionColumns))
	for i := range cols {
		v, err := cols[i].value(id, e)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	return vals, nil
}

// contentEqual reports whether two normalised contents are the same, column by column of
// contentTable.
func contentEqual(c, o domain.Content) bool {
	for i := range contentTable {
		if !contentTable[i].equal(&c, &o) {
			return false
		}
	}
	return true
}
