package report

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

// asOfT0 is the first instant of the seeded history: entry i is created at asOfT0 + i × 80 ms
// (all within the first day) and changes once a day for nine days.
var asOfT0 = time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)

// BenchmarkReadinessAsOf is the readiness report with as_of over a history of
// 10,000,000 events (target: under 3 s). The history is the 1,000,000 entries of
// BenchmarkReadinessReport with ten versions each: 10,000,000 entry_versions and one event
// per version. That keeps the inventory at the scale and makes the as_of report find
// the 1,000,000 versions valid at the instant among ten times as many. The instant lies in
// the middle of the history, so about half the entries are at their 5th and half at their
// 6th version.
//
// Seeding takes minutes and the database about 7 GB; -short skips it.
//
//	go test ./domain/report -run '^$' -bench ReadinessAsOf -benchtime 5x
func BenchmarkReadinessAsOf(b *testing.B) {
	if testing.Short() {
		b.Skip("seeds 10,000,000 events")
	}
	db := testdb.New(b)
	start := time.Now()
	if err := seedHistory10M(db); err != nil {
		b.Fatalf("seed: %v", err)
	}
	seeding := time.Since(start)
	fmt.Printf("seeded 1,000,000 entries, 10,000,000 versions and 10,000,000 events in %s\n", seeding.Round(time.Second))

	reports := New(store.NewReports(db))
	ctx := context.Background()
	sqlDB, err := db.DB()
	if err != nil {
		b.Fatal(err)
	}
	at := asOfT0.Add(5*24*time.Hour + 12*time.Hour)
	// The baseline: the same figures in one SQL statement over the versions valid at the
	// instant, as one would type it into psql.
	baseline := filterAggregateSQL(fmt.Sprintf(`entry_versions WHERE valid_from <= '%[1]s' AND (valid_to IS NULL OR valid_to > '%[1]s')`,
		at.Format(time.RFC3339Nano)), domain.Today(at))
	want, err := runAggregate(ctx, sqlDB, baseline)
	if err != nil || len(want) != 20 {
		b.Fatalf("baseline: %d groups, %v", len(want), err)
	}
	r, err := reports.Readiness(ctx, domain.ReadAll(), Filter{AsOf: &at})
	if err != nil {
		b.Fatal(err)
	}
	if n := r.Total.Registers.Count + r.Total.Onlinedienste.Count; n != 1_000_000 {
		b.Fatalf("as of %s the report counts %d entries, want 1,000,000", at, n)
	}
	checkAgainstAggregate(b, r, want)

	var reportMS, baselineMS float64
	b.Run("report_as_of", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := reports.Readiness(ctx, domain.ReadAll(), Filter{AsOf: &at})
			if err != nil || r.Total.Registers.Count+r.Total.Onlinedienste.Count != 1_000_000 {
				b.Fatalf("report: %v", err)
			}
		}
		reportMS = msPerOp(b)
		b.ReportMetric(reportMS, "ms/report")
	})
	b.Run("sql_aggregate_as_of", func(b *testing.B) {
		for b.Loop() {
			if groups, err := runAggregate(ctx, sqlDB, baseline); err != nil || len(groups) != 20 {
				b.Fatalf("aggregate: %d groups, %v", len(groups), err)
			}
		}
		baselineMS = msPerOp(b)
		b.ReportMetric(baselineMS, "ms/aggregate")
	})
	if reportMS > 0 && baselineMS > 0 {
		fmt.Printf("readiness report as of %s over 10,000,000 events: report %.0f ms (target < 3000 ms), SQL aggregate alone %.0f ms, ratio %.2f; seeding %s\n",
			at.Format(time.RFC3339), reportMS, baselineMS, reportMS/baselineMS, seeding.Round(time.Second))
	}
}

// seedHistory10M writes the history in SQL on one connection (a million rows through the API
// would measure the seeding instead). Entry i's stage in a dimension starts to advance at a
// version that depends on i and the dimension and then rises one step per version up to live
// (dsc of every 17th entry is not applicable throughout); the event of each version records
// what changed, as the service would. Versions and events are written in time order, as the
// service appends them.
//
// Seeding speed: the stages and change sets depend only on (k, version), where k combines
// the three starting versions and the not-applicable flag (686 values), so they are computed
// once into seed_steps and joined, instead of building JSON for each of 10,000,000 events
// (30 s per million). The secondary indexes of both history tables are dropped for the bulk
// insert and rebuilt afterwards from their own definitions, which beats maintaining them
// row by row (events_entity alone is inserted into at random).
func seedHistory10M(db *gorm.DB) error {
	return db.Connection(func(tx *gorm.DB) error {
		stage := func(d int, prev bool) string {
			start := []string{"k % 7", "k / 7 % 7", "k / 98"}[d]
			v := "v - 1"
			if prev {
				v = "v - 2"
			}
			s := fmt.Sprintf("(ARRAY['not_started','planned','in_progress','testing','live'])[1 + least(4, greatest(0, %s - %s))]", v, start)
			if d == 2 {
				s = "CASE WHEN k / 49 % 2 = 1 THEN 'not_applicable' ELSE " + s + " END"
			}
			return s
		}
		change := func(d int, name string) string {
			return fmt.Sprintf(`'readiness.%[1]s.stage', CASE WHEN v = 1 THEN jsonb_build_object('to', %[2]s)
				WHEN %[3]s <> %[2]s THEN jsonb_build_object('from', %[3]s, 'to', %[2]s) END`, name, stage(d, false), stage(d, true))
		}
		// k of entry i: the starting versions of idnr, noots and dsc, and dsc not applicable.
		k := func(i string) string {
			return strings.ReplaceAll("(@ % 7 + 7 * ((@ * 3 + 1) % 7) + 49 * (@ % 17 = 0)::int + 98 * ((@ * 5 + 2) % 7))", "@", i)
		}
		setup := []string{
			`SET maintenance_work_mem = '512MB'`,
			`CREATE TEMP TABLE seed_steps AS
			 SELECT k, v, ` + stage(0, false) + ` AS idnr, ` + stage(1, false) + ` AS noots, ` + stage(2, false) + ` AS dsc,
			        jsonb_strip_nulls(jsonb_build_object('description', jsonb_build_object('to', 'Stand ' || v),
			            ` + change(0, "idnr") + `, ` + change(1, "noots") + `, ` + change(2, "dsc") + `)) AS changes
			 FROM generate_series(0, 685) k, generate_series(1, 10) v`,
			`ANALYZE seed_steps`,
			`CREATE TEMP TABLE seed_indexes AS
			 SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
			 FROM pg_index i WHERE i.indrelid IN ('entry_versions'::regclass, 'events'::regclass) AND
			     NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
		}
		for _, s := range setup {
			if err := tx.Exec(s).Error; err != nil {
				return err
			}
		}
		var indexes []struct{ Name, Def string }
		if err := tx.Raw(`SELECT name, def FROM seed_indexes`).Scan(&indexes).Error; err != nil {
			return err
		}
		for _, ix := range indexes {
			if err := tx.Exec(`DROP INDEX ` + ix.Name).Error; err != nil {
				return err
			}
		}
		stmts := []string{
			// The entries as they are now, at their 10th version.
			`INSERT INTO entries (kind, ressort, key, name, description, created_at, updated_at, version, updated_by,
				idnr_stage, noots_stage, dsc_stage, idnr_target_date, noots_target_date, dsc_target_date, dsc_note)
			 SELECT (ARRAY['register','onlinedienst'])[1 + (i / 10) % 2],
			        (ARRAY['SF','SK','SIS','SBMS','SASJI','SJV','SKB','SWHT','MAG-BHV','ZGF'])[1 + i % 10],
			        'e' || lpad(i::text, 7, '0'), 'Eintrag ' || i, 'Stand 10',
			        '2026-01-01 08:00:00+00'::timestamptz + i * interval '80 ms',
			        '2026-01-01 08:00:00+00'::timestamptz + i * interval '80 ms' + interval '9 days', 10, 'seed',
			        s.idnr, s.noots, s.dsc,
			        DATE '2026-01-01' + (i % 1000), DATE '2026-01-01' + (i * 7 % 1500),
			        CASE WHEN i % 3 > 0 THEN DATE '2025-06-01' + (i % 500) END,
			        CASE WHEN i % 17 = 0 THEN 'keine personenbezogenen Daten' ELSE '' END
			 FROM generate_series(1, 1000000) i JOIN seed_steps s ON s.v = 10 AND s.k = ` + k("i"),
			`INSERT INTO entry_versions (id, kind, ressort, key, name, description, idnr_stage, idnr_target_date,
				noots_stage, noots_target_date, dsc_stage, dsc_target_date, dsc_note, version, created_at, updated_at,
				updated_by, valid_from, valid_to)
			 SELECT e.id, e.kind, e.ressort, e.key, e.name, 'Stand ' || g.v, s.idnr, e.idnr_target_date, s.noots,
			        e.noots_target_date, s.dsc, e.dsc_target_date, e.dsc_note, g.v, e.created_at,
			        e.created_at + (g.v - 1) * interval '1 day', 'seed', e.created_at + (g.v - 1) * interval '1 day',
			        CASE WHEN g.v < 10 THEN e.created_at + g.v * interval '1 day' END
			 FROM generate_series(1, 10) g(v)
			 CROSS JOIN LATERAL (SELECT substr(key, 2)::bigint AS i, * FROM entries ORDER BY key) e
			 JOIN seed_steps s ON s.v = g.v AND s.k = ` + k("e.i"),
			`INSERT INTO events (at, actor, action, entity_type, ressort, key, changes)
			 SELECT '2026-01-01 08:00:00+00'::timestamptz + i * interval '80 ms' + (g.v - 1) * interval '1 day', 'seed',
			        CASE WHEN g.v = 1 THEN 'created' ELSE 'updated' END,
			        (ARRAY['register','onlinedienst'])[1 + (i / 10) % 2],
			        (ARRAY['SF','SK','SIS','SBMS','SASJI','SJV','SKB','SWHT','MAG-BHV','ZGF'])[1 + i % 10],
			        'e' || lpad(i::text, 7, '0'), s.changes
			 FROM generate_series(1, 10) g(v) CROSS JOIN LATERAL generate_series(1, 1000000) i
			 JOIN seed_steps s ON s.v = g.v AND s.k = ` + k("i"),
		}
		for _, s := range stmts {
			if err := tx.Exec(s).Error; err != nil {
				return err
			}
		}
		for _, ix := range indexes {
			if err := tx.Exec(ix.Def).Error; err != nil {
				return err
			}
		}
		// As autovacuum would leave a table written over months: visibility map and
		// statistics current.
		return tx.Exec(`VACUUM ANALYZE entries, entry_versions, events`).Error
	})
}
