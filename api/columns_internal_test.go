package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/transfer"
	"github.com/bremen/regmo/migrations/testdb"
)

// bookkeeping are the columns of entries no format lets a Ressort write.
var bookkeeping = []string{"id", "kind", "version", "created_at", "updated_at", "updated_by"}

// TestEveryColumnIsMapped keeps the API's formats equal to the entries table, which the
// store's declaration (domain/columns.go) is kept equal to: every column a Ressort writes
// is a CSV column of its kind, and of each kind every CSV column reaches the JSON the API
// answers and comes back from the JSON it takes, each field as itself.
func TestEveryColumnIsMapped(t *testing.T) {
	db := testdb.New(t)
	var columns []string
	if err := db.Raw(`SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'entries' ORDER BY ordinal_position`).Scan(&columns).Error; err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, c := range columns {
		if !slices.Contains(bookkeeping, c) {
			want = append(want, c)
		}
	}
	for _, kind := range []domain.Kind{domain.KindRegister, domain.KindOnlinedienst} {
		for _, col := range csvColumns(kind) {
			if !slices.Contains(got, col.name) {
				got = append(got, col.name)
			}
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("CSV columns of both kinds: got %v, want the columns of entries %v", got, want)
	}

	for _, kind := range []domain.Kind{domain.KindRegister, domain.KindOnlinedienst} {
		t.Run(string(kind), func(t *testing.T) {
			// Every CSV column gets a value of its own, so that two crossed fields show.
			it := transfer.ImportItem{Kind: kind}
			cells := map[string]string{}
			for i, col := range csvColumns(kind) {
				cell := strconv.Itoa(i + 1)
				if msg := col.set(&it, cell); msg != "" {
					t.Fatalf("CSV column %s: %s", col.name, msg)
				}
				cells[col.name] = cell
			}
			e := domain.Entry{Kind: kind, Ressort: it.Ressort, Key: it.Key, Content: it.Content}
			for _, col := range csvColumns(kind) {
				if got, want := col.get(e), cells[col.name]; got != want {
					t.Errorf("CSV column %s: got %q back, want %q", col.name, got, want)
				}
			}

			// The answer: each column's value under its path, and nothing else a Ressort wrote.
			var out any = toRegister(e, "2026-03-15")
			if kind == domain.KindOnlinedienst {
				out = toOnlinedienst(e, "2026-03-15")
			}
			shown := flatJSON(t, out)
			for name, cell := range cells {
				if got := shown[documentPath(name)]; got != cell {
					t.Errorf("JSON answer, column %s at %s: got %q, want %q", name, documentPath(name), got, cell)
				}
			}
			for path, v := range shown {
				if _, ok := cells[columnOf(path)]; !ok && v != "" && !computed(path) {
					t.Errorf("JSON answer has %s = %q, which is no CSV column of %s", path, v, kind)
				}
			}

			// The request: the same content through the kind's input type.
			data, err := json.Marshal(it.Content)
			if err != nil {
				t.Fatal(err)
			}
			var back oapi.RegisterInput // the same type as OnlinedienstInput: domain.Content
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if got, err := json.Marshal(back); err != nil || string(got) != string(data) {
				t.Errorf("JSON request: got %s (%v), want %s", got, err, data)
			}
		})
	}
}

// documentPath is a column's place in the JSON document: readiness.idnr.stage for idnr_stage.
func documentPath(column string) string {
	for _, d := range domain.Dimensions {
		if field, ok := strings.CutPrefix(column, string(d)+"_"); ok {
			return "readiness." + string(d) + "." + field
		}
	}
	return column
}

// columnOf is documentPath's inverse.
func columnOf(path string) string {
	if rest, ok := strings.CutPrefix(path, "readiness."); ok {
		return strings.Replace(rest, ".", "_", 1)
	}
	return path
}

// computed tells the members of an answer that the service derives or keeps itself.
func computed(path string) bool {
	return slices.Contains(bookkeeping, path) || strings.HasSuffix(path, ".ready") || strings.HasSuffix(path, ".overdue")
}

// flatJSON is v as JSON, flattened to dotted paths, with every value as the CSV writes it.
func flatJSON(t *testing.T, v any) map[string]string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				walk(strings.TrimPrefix(prefix+"."+k, "."), child)
			}
		case []any:
			parts := make([]string, len(v))
			for i, p := range v {
				parts[i] = fmt.Sprint(p)
			}
			out[prefix] = strings.Join(parts, listSep)
		case nil:
			out[prefix] = ""
		default:
			out[prefix] = fmt.Sprint(v)
		}
	}
	walk("", doc)
	return out
}
