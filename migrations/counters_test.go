package migrations_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/bremen/regmo/migrations/testdb"
)

// TestCountersMigrationCountsExistingEntries migrates up to 00009, writes entries, and then
// applies 00010: the counters it creates must hold the entries that were there, and a write
// afterwards goes through the triggers.
func TestCountersMigrationCountsExistingEntries(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("pgx", testdb.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO entries (kind, ressort, key, name, created_at, updated_at,
			idnr_stage, noots_stage, noots_target_date, dsc_stage, dsc_target_date)
		SELECT (ARRAY['register', 'onlinedienst'])[1 + i % 2], (ARRAY['SF', 'SK'])[1 + i / 2 % 2], 'e' || i, 'E', now(), now(),
			(ARRAY['planned', 'live'])[1 + i % 2]::stage, 'testing', DATE '2026-01-01' + i % 3,
			(ARRAY['live', 'in_progress'])[1 + i / 3 % 2]::stage, DATE '2026-05-01'
		FROM generate_series(1, 40) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE entries SET idnr_stage = 'testing', idnr_target_date = '2026-03-01' WHERE key = 'e7'`); err != nil {
		t.Fatal(err)
	}
	// Every figure, counted over entries and summed over the counters.
	const differ = `WITH c AS (SELECT ressort, kind, idnr_stage, noots_stage, dsc_stage, sum(n) AS n FROM readiness_counts
			GROUP BY 1, 2, 3, 4, 5),
		e AS (SELECT ressort, kind, idnr_stage, noots_stage, dsc_stage, count(*) AS n FROM entries GROUP BY 1, 2, 3, 4, 5),
		cd AS (SELECT ressort, kind, dimension, stage, target_date, sum(n) AS n FROM readiness_dates GROUP BY 1, 2, 3, 4, 5),
		ed AS (SELECT ressort, kind, d.dim AS dimension, d.stage, d.day AS target_date, count(*) AS n
			FROM entries CROSS JOIN LATERAL (VALUES ('idnr', idnr_stage, idnr_target_date),
				('noots', noots_stage, noots_target_date), ('dsc', dsc_stage, dsc_target_date)) AS d(dim, stage, day)
			WHERE d.day IS NOT NULL AND d.stage NOT IN ('live', 'not_applicable') GROUP BY 1, 2, 3, 4, 5)
		SELECT (SELECT count(*) FROM c FULL JOIN e USING (ressort, kind, idnr_stage, noots_stage, dsc_stage)
				WHERE coalesce(c.n, 0) <> coalesce(e.n, 0)),
			(SELECT count(*) FROM cd FULL JOIN ed USING (ressort, kind, dimension, stage, target_date)
				WHERE coalesce(cd.n, 0) <> coalesce(ed.n, 0)),
			(SELECT count(*) FROM ed)`
	check := func(when string) {
		t.Helper()
		var counts, dates, figures int
		if err := db.QueryRowContext(ctx, differ).Scan(&counts, &dates, &figures); err != nil {
			t.Fatal(err)
		}
		if counts != 0 || dates != 0 || figures == 0 {
			t.Errorf("%s: %d stage combinations and %d target dates differ from entries (%d dated figures); want 0, 0 and some",
				when, counts, dates, figures)
		}
	}
	check("after the migration")
	// Down removes the counters and their triggers; Up again counts the entries anew.
	if _, err := p.DownTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM entries WHERE key = 'e8'`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 10); err != nil {
		t.Fatal(err)
	}
	check("after down and up")
}
