package domain

import (
	"context"
	"slices"
	"testing"

	"github.com/bremen/regmo/migrations/testdb"
)

// BenchmarkReadinessReport aggregates 1,000,000 entries across the ten Ressorts (target:
// under 1 s and within 2x of the bare SQL aggregate, which runs in the same benchmark).
func BenchmarkReadinessReport(b *testing.B) {
	db := testdb.New(b)
	err := db.Exec(`INSERT INTO entries (kind, ressort, key, name, created_at, updated_at,
			idnr_stage, noots_stage, dsc_stage, idnr_target_date, dsc_note)
		SELECT (ARRAY['register','onlinedienst'])[1 + (i / 10) % 2],
		       (ARRAY['SF','SK','SIS','SBMS','SASJI','SJV','SKB','SWHT','MAG-BHV','ZGF'])[1 + i % 10],
		       'e' || i, 'Eintrag ' || i, now(), now(),
		       (ARRAY['not_started','planned','in_progress','testing','live'])[1 + i % 5],
		       (ARRAY['not_started','planned','in_progress','testing','live'])[1 + (i / 5) % 5],
		       (ARRAY['not_started','planned','in_progress','testing','live','not_applicable'])[1 + (i / 25) % 6],
		       DATE '2026-01-01' + (i % 1000), 'keine personenbezogenen Daten'
		FROM generate_series(1, 1000000) i`).Error
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Exec(`VACUUM ANALYZE entries`).Error; err != nil {
		b.Fatal(err)
	}
	inv := NewInventory(db)
	ctx := context.Background()
	var reportTimes, sqlTimes []float64
	b.Run("report", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := inv.Readiness(ctx, ScopeAll(), ReportFilter{})
			if err != nil || r.Total.Registers.Count+r.Total.Onlinedienste.Count != 1_000_000 {
				b.Fatalf("report: %v", err)
			}
		}
		reportTimes = append(reportTimes, b.Elapsed().Seconds()*1000/float64(b.N))
		b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/report")
	})
	// The baseline is the aggregate alone, as psql would run it: the same counts in one SQL
	// statement, every row and column sent to the client, no Go. (An earlier version wrapped
	// it in SELECT count(*) FROM (...), which lets PostgreSQL drop the unused aggregates and
	// so measured only the grouping.)
	b.Run("sql_aggregate", func(b *testing.B) {
		for b.Loop() {
			rows, err := db.Raw(`SELECT ressort, kind, count(*),
					count(*) FILTER (WHERE idnr_stage IN ('live','not_applicable') AND noots_stage IN ('live','not_applicable') AND dsc_stage IN ('live','not_applicable')),
					count(*) FILTER (WHERE idnr_stage = 'not_started'), count(*) FILTER (WHERE idnr_stage = 'planned'),
					count(*) FILTER (WHERE idnr_stage = 'in_progress'), count(*) FILTER (WHERE idnr_stage = 'testing'),
					count(*) FILTER (WHERE idnr_stage = 'live'), count(*) FILTER (WHERE idnr_stage = 'not_applicable'),
					count(*) FILTER (WHERE idnr_target_date < current_date AND idnr_stage NOT IN ('live','not_applicable')),
					count(*) FILTER (WHERE noots_stage = 'not_started'), count(*) FILTER (WHERE noots_stage = 'planned'),
					count(*) FILTER (WHERE noots_stage = 'in_progress'), count(*) FILTER (WHERE noots_stage = 'testing'),
					count(*) FILTER (WHERE noots_stage = 'live'), count(*) FILTER (WHERE noots_stage = 'not_applicable'),
					count(*) FILTER (WHERE noots_target_date < current_date AND noots_stage NOT IN ('live','not_applicable')),
					count(*) FILTER (WHERE dsc_stage = 'not_started'), count(*) FILTER (WHERE dsc_stage = 'planned'),
					count(*) FILTER (WHERE dsc_stage = 'in_progress'), count(*) FILTER (WHERE dsc_stage = 'testing'),
					count(*) FILTER (WHERE dsc_stage = 'live'), count(*) FILTER (WHERE dsc_stage = 'not_applicable'),
					count(*) FILTER (WHERE dsc_target_date < current_date AND dsc_stage NOT IN ('live','not_applicable'))
				FROM entries GROUP BY ressort, kind`).Rows()
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if err := rows.Err(); err != nil || n != 20 {
				b.Fatalf("aggregate: %d groups, %v", n, err)
			}
		}
		sqlTimes = append(sqlTimes, b.Elapsed().Seconds()*1000/float64(b.N))
		b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/aggregate")
	})
	if len(reportTimes) > 0 && len(sqlTimes) > 0 {
		r, q := median(reportTimes), median(sqlTimes)
		b.Logf("readiness report %.0f ms, bare SQL aggregate %.0f ms: ratio %.2f (target ≤ 2)", r, q, r/q)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
