package store

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/migrations/testdb"
)

// TestEntryTableMatchesMigrations keeps the declaration and the migrations equal: every
// column of entries is declared once with its default, and entry_versions has the same
// columns plus versionColumns (so the version copy of write misses none).
func TestEntryTableMatchesMigrations(t *testing.T) {
	db := testdb.New(t)
	type column struct {
		Name    string
		Default *string
	}
	read := func(table string) map[string]string {
		var cols []column
		err := db.Raw(`SELECT column_name AS name, column_default AS default FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, table).Scan(&cols).Error
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, c := range cols {
			if c.Default != nil {
				out[c.Name] = *c.Default
			} else {
				out[c.Name] = ""
			}
		}
		return out
	}
	declared := func(cols []entryColumn) map[string]string {
		out := map[string]string{}
		for _, c := range cols {
			if _, dup := out[c.name]; dup {
				t.Errorf("column %s is declared twice", c.name)
			}
			out[c.name] = c.sqlDefault
		}
		return out
	}
	tests := []struct {
		table string
		want  map[string]string
	}{
		{"entries", declared(entryTable)},
		{"entry_versions", declared(slices.Concat(entryTable, versionColumns))},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			got := read(tt.table)
			for name, def := range got {
				want, ok := tt.want[name]
				switch {
				case !ok:
					t.Errorf("column %s of %s is not declared in entryTable", name, tt.table)
				case def != want:
					t.Errorf("default of %s.%s: got %q, want %q", tt.table, name, def, want)
				}
			}
			for name := range tt.want {
				if _, ok := got[name]; !ok {
					t.Errorf("declared column %s is not a column of %s", name, tt.table)
				}
			}
		})
	}
}

// TestEntryRowScansEveryColumnOnce: each declared column scans into a place of its own in
// entryRow, for database/sql and for pgx alike, so that no two columns overwrite each other.
func TestEntryRowScansEveryColumnOnce(t *testing.T) {
	var row entryRow
	for _, kind := range []string{"scan", "native"} {
		t.Run(kind, func(t *testing.T) {
			seen := map[uintptr]string{}
			for _, c := range entryTable {
				dest := c.scan(&row)
				if kind == "native" {
					dest = nativeField(c, &row)
				}
				var addr uintptr
				if d, ok := dest.(dateText); ok {
					addr = reflect.ValueOf(d.s).Pointer()
				} else {
					addr = reflect.ValueOf(dest).Pointer()
				}
				if other, dup := seen[addr]; dup {
					t.Errorf("column %s: got the destination of %s, want one of its own", c.name, other)
				}
				seen[addr] = c.name
			}
		})
	}
}

func nativeField(c entryColumn, r *entryRow) any {
	if c.native != nil {
		return c.native(r)
	}
	return c.scan(r)
}

// TestContentColumnsCoverContent: every leaf of Content (by its JSON path) is exactly one
// content column, so that the history, the comparison and the writes miss no field; and
// each column's equal tells a change of its field alone.
func TestContentColumnsCoverContent(t *testing.T) {
	var leaves []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Type.Kind() == reflect.Struct {
				walk(prefix+name+".", f.Type)
				continue
			}
			leaves = append(leaves, prefix+name)
		}
	}
	walk("", reflect.TypeFor[domain.Content]())
	var paths []string
	for _, c := range contentTable {
		paths = append(paths, c.path)
	}
	slices.Sort(leaves)
	slices.Sort(paths)
	if !slices.Equal(paths, leaves) {
		t.Fatalf("content columns' paths: got %v, want the fields of Content %v", paths, leaves)
	}
	full := fullContent()
	for _, c := range contentTable {
		// A column whose field is emptied: equal must see it, and no other column.
		changed := full
		f := domain.ContentFields[slices.IndexFunc(domain.ContentFields, func(f domain.Field) bool { return f.Name == c.name })]
		switch f.Type {
		case domain.FieldNumber:
			*f.Number(&changed) = nil
		case domain.FieldList:
			*f.List(&changed) = nil
		default:
			*f.Text(&changed) = ""
		}
		if c.equal(&full, &changed) {
			t.Errorf("column %s: equal does not see its field change", c.name)
		}
		for _, o := range contentTable {
			if o.name != c.name && !o.equal(&full, &changed) {
				t.Errorf("column %s: emptying it changes the field of %s", c.name, o.name)
			}
		}
		if contentEqual(full, changed) {
			t.Errorf("column %s: Content.equal does not see its field change", c.name)
		}
	}
}

// fullContent has every field set, each to a different value that the columns' types take,
// whatever fields Content has.
func fullContent() domain.Content {
	var c domain.Content
	i := 0
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		for j := range v.NumField() {
			f, name := v.Field(j), v.Type().Field(j).Name
			i++
			switch {
			case f.Kind() == reflect.Struct:
				fill(f)
			case f.Type() == reflect.TypeFor[domain.Stage]():
				f.Set(reflect.ValueOf(domain.Stages[i%len(domain.Stages)]))
			case name == "TargetDate":
				f.SetString("2028-12-" + strconv.Itoa(10+i%20))
			case f.Kind() == reflect.String:
				f.SetString("Wert " + strconv.Itoa(i))
			case f.Type() == reflect.TypeFor[*int]():
				n := i
				f.Set(reflect.ValueOf(&n))
			case f.Type() == reflect.TypeFor[[]string]():
				f.Set(reflect.ValueOf([]string{"Wert " + strconv.Itoa(i)}))
			default:
				panic("fullContent: no value for a " + f.Type().String())
			}
		}
	}
	fill(reflect.ValueOf(&c).Elem())
	return c
}

// TestEntryRoundTrip: an entry written through the declared values and read back through
// the declared scan is the entry, for both kinds' fields at once.
func TestEntryRoundTrip(t *testing.T) {
	db := testdb.New(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 15, 11, 0, 0, 0, time.UTC)
	c := fullContent()
	err := db.Connection(func(conn *gorm.DB) error {
		// entries keeps the kinds' fields apart; a copy without that check (it shadows the
		// table on this connection) takes both at once.
		if err := conn.Exec(`CREATE TEMP TABLE entries (LIKE public.entries INCLUDING DEFAULTS INCLUDING IDENTITY)`).Error; err != nil {
			return err
		}
		row, err := entryStore{conn}.insert(ctx, domain.KindRegister, "SF", "voll", c, "alice", now, nil)
		if err != nil {
			return err
		}
		got := row.entry()
		want := domain.Entry{Kind: domain.KindRegister, Ressort: "SF", Key: "voll", Content: c, Version: 1, CreatedAt: now, UpdatedAt: now, UpdatedBy: "alice"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("inserted entry: got %+v, want %+v", got, want)
		}
		c2 := c
		c2.Name, c2.LeikaKeys, c2.AnlageNr = "Neu", nil, nil
		later := now.Add(time.Hour)
		row, err = entryStore{conn}.update(ctx, domain.KindRegister, "SF", "voll", row.ID, c2, "bob", later, nil)
		if err != nil {
			return err
		}
		want.Content, want.Version, want.UpdatedAt, want.UpdatedBy = c2, 2, later, "bob"
		if got := row.entry(); !reflect.DeepEqual(got, want) {
			t.Errorf("updated entry: got %+v, want %+v", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBaselineColumnsMatchEntryTable: cmd/baseline, the benchmark's ceiling, keeps its own
// copy of a register's select list (it must not import regmo); it must stay the one regmo
// sends.
func TestBaselineColumnsMatchEntryTable(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../../cmd/baseline/main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var list string
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && vs.Names[0].Name == "entryColumns" {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
				list, _ = strconv.Unquote(lit.Value)
			}
		}
		return true
	})
	if list == "" {
		t.Fatal("cmd/baseline/main.go has no constant entryColumns")
	}
	var got []string
	for _, name := range strings.Split(list, ",") {
		got = append(got, strings.TrimSpace(name))
	}
	var want []string
	for _, c := range readOf(domain.KindRegister).cols {
		want = append(want, c.name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("cmd/baseline's entryColumns: got %v, want %v", got, want)
	}
}

// TestKindTableHoldsTheKindsFields: a read of one kind selects the address and bookkeeping
// columns and exactly the kind's content fields, in entryTable's order, and loads their
// content as a read of every column does.
func TestKindTableHoldsTheKindsFields(t *testing.T) {
	for _, kind := range []domain.Kind{domain.KindRegister, domain.KindOnlinedienst} {
		t.Run(string(kind), func(t *testing.T) {
			var want []string
			for _, c := range entryTable {
				if c.role != roleContent || slices.ContainsFunc(domain.FieldsOf(kind), func(f domain.Field) bool { return f.Name == c.name }) {
					want = append(want, c.name)
				}
			}
			read := readOf(kind)
			var got []string
			for _, c := range read.cols {
				got = append(got, c.name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("columns: got %v, want %v", got, want)
			}
			if wantList := strings.Join(want, ", "); read.list != wantList {
				t.Errorf("select list: got %q, want %q", read.list, wantList)
			}
			// The kind's fields filled, the others empty, as entries keeps them.
			var row entryRow
			full := fullContent()
			for _, f := range domain.FieldsOf(kind) {
				switch f.Type {
				case domain.FieldNumber:
					*f.Number(&row.Content) = *f.Number(&full)
				case domain.FieldList:
					*f.List(&row.Content) = *f.List(&full)
				default:
					*f.Text(&row.Content) = *f.Text(&full)
				}
			}
			row.Key = "k"
			var viaKind, viaAll domain.Entry
			for i := range read.cols {
				read.cols[i].load(&row, &viaKind)
			}
			row.loadInto(&viaAll)
			if !reflect.DeepEqual(viaKind, viaAll) {
				t.Errorf("loaded entry: got %+v, want %+v", viaKind, viaAll)
			}
			if viaKind.Content.Name == "" {
				t.Error("loaded entry: got no content, want the row's")
			}
		})
	}
	if got := readOf("unknown").cols; len(got) != len(entryTable) {
		t.Errorf("unknown kind: got %d columns, want all %d", len(got), len(entryTable))
	}
}
