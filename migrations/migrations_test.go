package migrations_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/bremen/regmo/migrations"
	"github.com/bremen/regmo/migrations/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func TestUpFromEmptyThenNoOp(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("pgx", testdb.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	n, err := migrations.Up(ctx, db)
	if err != nil {
		t.Fatalf("first Up: %v", err)
	}
	list, err := migrations.List(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != len(list) {
		t.Errorf("first Up applied %d migrations, want all %d", n, len(list))
	}
	for _, m := range list {
		if !m.Applied {
			t.Errorf("migration %d (%s) not applied", m.Version, m.Source)
		}
	}
	var schemaBefore string
	if err := db.QueryRowContext(ctx, schemaQuery).Scan(&schemaBefore); err != nil {
		t.Fatal(err)
	}

	n, err = migrations.Up(ctx, db)
	if err != nil || n != 0 {
		t.Errorf("second Up = %d, %v; want 0, nil", n, err)
	}
	var schemaAfter string
	if err := db.QueryRowContext(ctx, schemaQuery).Scan(&schemaAfter); err != nil {
		t.Fatal(err)
	}
	if schemaAfter != schemaBefore {
		t.Error("second Up changed the schema")
	}

	var ressorts, anlage int
	db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM ressorts), (SELECT count(*) FROM idnrg_anlage)`).Scan(&ressorts, &anlage)
	if ressorts != 10 || anlage != 50 {
		t.Errorf("seeded %d Ressorts and %d Anlage entries, want 10 and 50", ressorts, anlage)
	}
}

// schemaQuery summarises the public schema's columns.
const schemaQuery = `SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, column_name)
	FROM information_schema.columns WHERE table_schema = 'public'`

// TestConstraintsHoldWithoutTheAPI checks that the database itself refuses what the API
// refuses, for writes that bypass it.
func TestConstraintsHoldWithoutTheAPI(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("pgx", testdb.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	insert := `INSERT INTO entries (kind, ressort, key, name, created_at, updated_at) VALUES ($1, $2, $3, $4, now(), now())`
	if _, err := db.ExecContext(ctx, insert, "register", "SIS", "melderegister", "Melderegister"); err != nil {
		t.Fatalf("valid insert: %v", err)
	}
	tests := []struct {
		name string
		stmt string
		args []any
	}{
		{"duplicate key", insert, []any{"register", "SIS", "melderegister", "x"}},
		{"unknown Ressort", insert, []any{"register", "XX", "a", "x"}},
		{"bad key", insert, []any{"register", "SIS", "A_B", "x"}},
		{"empty name", insert, []any{"register", "SIS", "b", ""}},
		{"unknown kind", insert, []any{"service", "SIS", "c", "x"}},
		{"unknown stage", `UPDATE entries SET noots_stage = 'done'`, nil},
		{"not applicable without note", `UPDATE entries SET dsc_stage = 'not_applicable'`, nil},
		{"anlage number outside the Anlage", `UPDATE entries SET idnrg_anlage_nr = 51`, nil},
		{"Onlinedienst field on a register", `UPDATE entries SET url = 'https://example.org'`, nil},
		{"register named as Onlinedienst in nachweise", `INSERT INTO nachweise (onlinedienst_id, register_id) SELECT id, id FROM entries`, nil},
		{"version 0", `UPDATE entries SET version = 0`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := db.ExecContext(ctx, tt.stmt, tt.args...); err == nil {
				t.Errorf("statement succeeded, want a constraint violation")
			}
		})
	}
}
