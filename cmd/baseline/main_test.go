package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bremen/regmo/migrations/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// The registers of the comparison: null and set target dates, overdue and not, every stage
// with not_applicable's note, texts JSON must escape, times with and without a fraction.
const seedSQL = `INSERT INTO entries (kind, ressort, key, name, description, idnrg_anlage_nr, legal_basis,
		fachverfahren, contact, idnr_stage, idnr_target_date, idnr_note, idnr_evidence_url,
		noots_stage, noots_target_date, noots_note, dsc_stage, dsc_target_date, dsc_note,
		version, created_at, updated_at, updated_by)
	VALUES
	('register', 'SF', 'melderegister', 'Melde"register" ü', E'Zeile 1\nZeile 2 \\ <b>&', 1, '§ 1 IDNrG',
	 'Verfahren', 'a@example.org', 'planned', DATE '2020-01-01', 'überfällig', 'https://www.transparenz.bremen.de/',
	 'live', DATE '2020-01-01', '', 'not_applicable', NULL, 'keine Daten',
	 3, '2026-01-02 03:04:05.1234+00', '2026-02-03 04:05:06+00', 'admin'),
	('register', 'SF', 'a-erstes', 'A', '', NULL, '', '', '', 'not_started', NULL, '', '',
	 'testing', DATE '2999-12-31', 'bald', 'in_progress', DATE '2000-06-30', '',
	 1, '2026-03-04 05:06:07.000001+00', '2026-03-04 05:06:07.5+00', ''),
	('register', 'SIS', 'waffen', 'Nationales Waffenregister', '', 28, '', '', '', 'live', DATE '2020-01-01', '', '',
	 'not_started', NULL, '', 'testing', NULL, '',
	 2, '2025-12-31 23:59:59.999999+00', '2026-01-01 00:00:00+00', 'sis'),
	('onlinedienst', 'SF', 'kein-register', 'Ein Onlinedienst', '', NULL, '', '', '', 'not_started', NULL, '', '',
	 'not_started', NULL, '', 'not_started', NULL, '',
	 1, now(), now(), '')`

// TestJSONSQLEqualsPlain checks that the -json-sql ceiling answers what the plain baseline
// answers (which writes regmo's Register shape from Go structs), as JSON values.
func TestJSONSQLEqualsPlain(t *testing.T) {
	dsn := testdb.DSN(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, seedSQL); err != nil {
		t.Fatal(err)
	}
	plain := httptest.NewServer(handler(pool, false, false))
	defer plain.Close()
	jsonSQL := httptest.NewServer(handler(pool, false, true))
	defer jsonSQL.Close()

	get := func(base, path string) (int, string, any) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, "", nil
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s%s: Content-Type %q", base, path, ct)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s%s: %v\n%s", base, path, err, body)
		}
		return resp.StatusCode, resp.Header.Get("ETag"), v
	}
	for _, path := range []string{
		"/v1/ressorts/SF/registers/melderegister",
		"/v1/ressorts/SF/registers/a-erstes",
		"/v1/ressorts/SIS/registers/waffen",
		"/v1/ressorts/SF/registers/kein-register", // an Onlinedienst: not a register
		"/v1/ressorts/SK/registers/melderegister",
		"/v1/registers?limit=1",
		"/v1/registers?limit=2",
		"/v1/registers?limit=3",
		"/v1/registers",
	} {
		ps, pe, pv := get(plain.URL, path)
		js, je, jv := get(jsonSQL.URL, path)
		if ps != js || pe != je {
			t.Errorf("%s: plain %d ETag %q, json-sql %d ETag %q", path, ps, pe, js, je)
		}
		if !reflect.DeepEqual(pv, jv) {
			pj, _ := json.MarshalIndent(pv, "", "  ")
			jj, _ := json.MarshalIndent(jv, "", "  ")
			t.Errorf("%s: answers differ\nplain:\n%s\njson-sql:\n%s", path, pj, jj)
		}
	}
	// The comparison must have seen pages with and without a next page.
	_, _, first := get(jsonSQL.URL, "/v1/registers?limit=1")
	if page, _ := first.(map[string]any); page == nil || page["next_cursor"] == nil || len(page["items"].([]any)) != 1 {
		t.Errorf("first page of 1 = %v, want one item and a next_cursor", first)
	}
	_, _, all := get(jsonSQL.URL, "/v1/registers")
	if page, _ := all.(map[string]any); page == nil || page["next_cursor"] != nil || len(page["items"].([]any)) != 3 {
		t.Errorf("page of 100 = %v, want three items and no next_cursor", all)
	}
}
