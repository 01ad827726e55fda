package store

import (
	"context"
	"testing"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/migrations/testdb"
)

// TestFixedQueryOutlivesAChangedTable: a statement prepared on a connection before a
// migration changed the type of a column it selects is prepared anew, and the read answers
// instead of failing with PostgreSQL's "cached plan must not change result type".
func TestFixedQueryOutlivesAChangedTable(t *testing.T) {
	dsn := testdb.DSN(t)
	owner := testdb.Open(t, dsn)
	ctx := context.Background()
	if err := owner.Exec(`CREATE TABLE fixed_probe (ressort text, name text)`).Error; err != nil {
		t.Fatal(err)
	}
	if err := owner.Exec(`INSERT INTO fixed_probe VALUES ('SF', 'Grundsteuer'); GRANT SELECT ON fixed_probe TO ` + AppRole).Error; err != nil {
		t.Fatal(err)
	}
	var name []entryColumn
	for _, c := range entryTable {
		if c.name == "name" {
			name = append(name, c)
		}
	}
	q := newFixedQuery(`SELECT name FROM fixed_probe WHERE ressort = $1`, name)
	app := testdb.App(t, dsn)
	sqlDB, err := app.DB()
	if err != nil {
		t.Fatal(err)
	}
	// One connection, so that the second read finds the statement the first prepared.
	sqlDB.SetMaxOpenConns(1)
	read := func(when string) {
		t.Helper()
		rows, err := queryFixedIn(ctx, app, domain.ReadAll(), 1, q, "SF")
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if len(rows) != 1 || rows[0].Content.Name != "Grundsteuer" {
			t.Fatalf("%s: got %d rows (%+v), want the one named Grundsteuer", when, len(rows), rows)
		}
	}
	read("before the change")
	if err := owner.Exec(`ALTER TABLE fixed_probe ALTER COLUMN name TYPE varchar(200)`).Error; err != nil {
		t.Fatal(err)
	}
	read("after the change")
}
