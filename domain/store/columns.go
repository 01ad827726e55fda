package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/jackc/pgx/v5/pgtype"
)

// entryTable declares the columns of entries once, in the table's order: what each holds,
// where it lives in entryRow and in Entry, and its SQL default. Every select and scan list,
// INSERT, UPDATE, COPY, version copy, history document and content comparison is derived
// from it, so a field is added here, in entryRow and Content, and in the migration
// (TestEntryTableMatchesMigrations keeps the two equal). entry_versions has the same
// columns plus versionColumns.
var entryTable = slices.Concat(
	[]entryColumn{
		idColumn(),
		metaColumn("kind", roleAddress, "", func(r *entryRow) *string { return &r.Kind }, func(e *domain.Entry) *string { return (*string)(&e.Kind) }),
		metaColumn("ressort", roleAddress, "", func(r *entryRow) *string { return &r.Ressort }, func(e *domain.Entry) *string { return &e.Ressort }),
		metaColumn("key", roleAddress, "", func(r *entryRow) *string { return &r.Key }, func(e *domain.Entry) *string { return &e.Key }),
		requiredTextColumn("name", func(r *entryRow) *string { return &r.Name }, func(c *domain.Content) *string { return &c.Name }),
		textColumn("description", func(r *entryRow) *string { return &r.Description }, func(c *domain.Content) *string { return &c.Description }),
		// Register only.
		numberColumn("idnrg_anlage_nr", func(r *entryRow) **int { return &r.IdnrgAnlageNr }, func(c *domain.Content) **int { return &c.AnlageNr }),
		textColumn("legal_basis", func(r *entryRow) *string { return &r.LegalBasis }, func(c *domain.Content) *string { return &c.LegalBasis }),
		textColumn("fachverfahren", func(r *entryRow) *string { return &r.Fachverfahren }, func(c *domain.Content) *string { return &c.Fachverfahren }),
		textColumn("contact", func(r *entryRow) *string { return &r.Contact }, func(c *domain.Content) *string { return &c.Contact }),
		// Onlinedienst only.
		listColumn("leika_keys", func(r *entryRow) *textArray { return &r.LeikaKeys }, func(c *domain.Content) *[]string { return &c.LeikaKeys }),
		textColumn("url", func(r *entryRow) *string { return &r.URL }, func(c *domain.Content) *string { return &c.URL }),
		listColumn("nachweise_from", func(r *entryRow) *textArray { return &r.NachweiseFrom }, func(c *domain.Content) *[]string { return &c.NachweiseFrom }),
	},
	statusColumns(domain.DimensionIDNr, func(r *entryRow) *statusRow { return &r.Idnr }, func(c *domain.Content) *domain.Status { return &c.Readiness.IDNr }),
	statusColumns(domain.DimensionNOOTS, func(r *entryRow) *statusRow { return &r.Noots }, func(c *domain.Content) *domain.Status { return &c.Readiness.NOOTS }),
	statusColumns(domain.DimensionDSC, func(r *entryRow) *statusRow { return &r.Dsc }, func(c *domain.Content) *domain.Status { return &c.Readiness.DSC }),
	[]entryColumn{
		metaColumn("version", roleVersion, "1", func(r *entryRow) *int64 { return &r.Version }, func(e *domain.Entry) *int64 { return &e.Version }),
		timeColumn("created_at", roleCreated, func(r *entryRow) *time.Time { return &r.CreatedAt }, func(e *domain.Entry) *time.Time { return &e.CreatedAt }),
		timeColumn("updated_at", roleUpdated, func(r *entryRow) *time.Time { return &r.UpdatedAt }, func(e *domain.Entry) *time.Time { return &e.UpdatedAt }),
		metaColumn("updated_by", roleUpdated, "''::text", func(r *entryRow) *string { return &r.UpdatedBy }, func(e *domain.Entry) *string { return &e.UpdatedBy }),
	},
)

// entryRow is one row of entries (or entry_versions without its validity). The gorm tags
// are for the reports that scan through GORM; TestEntryRowMatchesEntryTable keeps them and
// entryTable's fields equal.
type entryRow struct {
	ID            int64     `gorm:"column:id"`
	Kind          string    `gorm:"column:kind"`
	Ressort       string    `gorm:"column:ressort"`
	Key           string    `gorm:"column:key"`
	Name          string    `gorm:"column:name"`
	Description   string    `gorm:"column:description"`
	IdnrgAnlageNr *int      `gorm:"column:idnrg_anlage_nr"`
	LegalBasis    string    `gorm:"column:legal_basis"`
	Fachverfahren string    `gorm:"column:fachverfahren"`
	Contact       string    `gorm:"column:contact"`
	LeikaKeys     textArray `gorm:"column:leika_keys"`
	URL           string    `gorm:"column:url"`
	NachweiseFrom textArray `gorm:"column:nachweise_from"`
	Idnr          statusRow `gorm:"embedded;embeddedPrefix:idnr_"`
	Noots         statusRow `gorm:"embedded;embeddedPrefix:noots_"`
	Dsc           statusRow `gorm:"embedded;embeddedPrefix:dsc_"`
	Version       int64     `gorm:"column:version"`
	CreatedAt     time.Time `gorm:"column:created_at"`
	UpdatedAt     time.Time `gorm:"column:updated_at"`
	UpdatedBy     string    `gorm:"column:updated_by"`
}

// statusRow is one dimension's columns of an entryRow.
type statusRow struct {
	Stage       string     `gorm:"column:stage"`
	TargetDate  *time.Time `gorm:"column:target_date"`
	Note        string     `gorm:"column:note"`
	EvidenceURL string     `gorm:"column:evidence_url"`
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
	// scan is the column's field in a row, for database/sql; native is the same for pgx's
	// own scanning, which decodes text[] itself.
	scan, native func(*entryRow) any
	// load sets the entry's field from the row.
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

// textColumn is a text column that defaults to the empty string; the JSON document leaves
// it out when empty.
func textColumn(name string, row func(*entryRow) *string, field func(*domain.Content) *string) entryColumn {
	return text(name, name, false, row, field)
}

// requiredTextColumn is text without a default, which every write names and the JSON
// document always shows.
func requiredTextColumn(name string, row func(*entryRow) *string, field func(*domain.Content) *string) entryColumn {
	c := text(name, name, true, row, field)
	c.sqlDefault, c.isDefault = "", nil
	return c
}

// text is a text column shown at path; always keeps it in the JSON document when empty.
func text(name, path string, always bool, row func(*entryRow) *string, field func(*domain.Content) *string) entryColumn {
	return entryColumn{name: name, role: roleContent, sqlDefault: "''::text", path: path,
		scan:      func(r *entryRow) any { return row(r) },
		load:      func(r *entryRow, e *domain.Entry) { *field(&e.Content) = *row(r) },
		value:     func(_ int64, e *domain.Entry) (any, error) { return *field(&e.Content), nil },
		isDefault: func(v any) bool { return v == "" },
		flat: func(c *domain.Content, out map[string]any) {
			if v := *field(c); always || v != "" {
				out[path] = v
			}
		},
		equal: func(a, b *domain.Content) bool { return *field(a) == *field(b) }}
}

// numberColumn is a nullable integer; JSON documents hold numbers as float64.
func numberColumn(name string, row func(*entryRow) **int, field func(*domain.Content) **int) entryColumn {
	return entryColumn{name: name, role: roleContent, path: name,
		scan: func(r *entryRow) any { return row(r) },
		load: func(r *entryRow, e *domain.Entry) { *field(&e.Content) = *row(r) },
		value: func(_ int64, e *domain.Entry) (any, error) {
			if n := *field(&e.Content); n != nil {
				return int32(*n), nil
			}
			return nil, nil
		},
		isDefault: func(v any) bool { return v == nil },
		flat: func(c *domain.Content, out map[string]any) {
			if n := *field(c); n != nil {
				out[name] = float64(*n)
			}
		},
		equal: func(a, b *domain.Content) bool {
			x, y := *field(a), *field(b)
			return (x == nil && y == nil) || (x != nil && y != nil && *x == *y)
		}}
}

// listColumn is text[] NOT NULL DEFAULT '{}'; an entry holds an empty list as nil, and the
// JSON document leaves it out.
func listColumn(name string, row func(*entryRow) *textArray, field func(*domain.Content) *[]string) entryColumn {
	return entryColumn{name: name, role: roleContent, sqlDefault: "'{}'::text[]", path: name,
		scan:   func(r *entryRow) any { return row(r) },
		native: func(r *entryRow) any { return (*[]string)(row(r)) },
		load:   func(r *entryRow, e *domain.Entry) { *field(&e.Content) = nilIfEmpty(*row(r)) },
		value: func(_ int64, e *domain.Entry) (any, error) {
			if l := *field(&e.Content); l != nil {
				return l, nil
			}
			return []string{}, nil
		},
		isDefault: func(v any) bool { return len(v.([]string)) == 0 },
		flat: func(c *domain.Content, out map[string]any) {
			if vs := *field(c); len(vs) > 0 {
				l := make([]any, len(vs))
				for i, v := range vs {
					l[i] = v
				}
				out[name] = l
			}
		},
		equal: func(a, b *domain.Content) bool { return slices.Equal(*field(a), *field(b)) }}
}

// statusColumns are the four columns of a dimension, named after it (idnr_stage) and shown
// under readiness in the JSON document (readiness.idnr.stage).
func statusColumns(d domain.Dimension, row func(*entryRow) *statusRow, status func(*domain.Content) *domain.Status) []entryColumn {
	name := func(field string) string { return string(d) + "_" + field }
	path := func(field string) string { return "readiness." + string(d) + "." + field }
	stage := text(name("stage"), path("stage"), true, func(r *entryRow) *string { return &row(r).Stage },
		func(c *domain.Content) *string { return (*string)(&status(c).Stage) })
	stage.sqlDefault = "'" + string(domain.StageNotStarted) + "'::text" // the domain stage over text
	stage.isDefault = func(v any) bool { return v == string(domain.StageNotStarted) }
	return []entryColumn{
		stage,
		dateColumn(name("target_date"), path("target_date"), func(r *entryRow) **time.Time { return &row(r).TargetDate },
			func(c *domain.Content) *string { return &status(c).TargetDate }),
		text(name("note"), path("note"), false, func(r *entryRow) *string { return &row(r).Note },
			func(c *domain.Content) *string { return &status(c).Note }),
		text(name("evidence_url"), path("evidence_url"), false, func(r *entryRow) *string { return &row(r).EvidenceURL },
			func(c *domain.Content) *string { return &status(c).EvidenceURL }),
	}
}

// dateColumn is a nullable date; an entry holds it as YYYY-MM-DD, empty for NULL.
func dateColumn(name, path string, row func(*entryRow) **time.Time, field func(*domain.Content) *string) entryColumn {
	c := text(name, path, false, nil, field)
	c.sqlDefault = ""
	c.scan = func(r *entryRow) any { return row(r) }
	c.load = func(r *entryRow, e *domain.Entry) { *field(&e.Content) = dateString(*row(r)) }
	c.value = func(_ int64, e *domain.Entry) (any, error) {
		s := *field(&e.Content)
		if s == "" {
			return nil, nil
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, fmt.Errorf("target date %q: %w", s, err)
		}
		return pgtype.Date{Time: d, Valid: true}, nil
	}
	c.isDefault = func(v any) bool { return v == nil }
	return c
}

func dateString(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.DateOnly)
}

func nilIfEmpty(a textArray) []string {
	if len(a) == 0 {
		return nil
	}
	return a
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

// nativeFields are the scan destinations of entryColumns for pgx's own scanning.
func (r *entryRow) nativeFields() []any {
	f := make([]any, len(entryTable))
	for i := range entryTable {
		if native := entryTable[i].native; native != nil {
			f[i] = native(r)
		} else {
			f[i] = entryTable[i].scan(r)
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
