package report

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/migrations/testdb"
)

// BenchmarkReadinessReport reports on 1,000,000 entries across the ten Ressorts (target:
// under 50 ms since the current report reads the counters of migration 00010; it used to be
// under 1 s and within 2× of the equivalent SQL aggregate run alone, in the same benchmark,
// which still runs for comparison). It prints one line with both times and the ratio.
func BenchmarkReadinessReport(b *testing.B) {
	dsn := testdb.DSN(b)
	db := testdb.Open(b, dsn)
	err := db.Exec(`INSERT INTO entries (kind, ressort, key, name, created_at, updated_at,
			idnr_stage, noots_stage, dsc_stage, idnr_target_date, noots_target_date, dsc_target_date, dsc_note)
		SELECT (ARRAY['register','onlinedienst'])[1 + (i / 10) % 2],
		       (ARRAY['SF','SK','SIS','SBMS','SASJI','SJV','SKB','SWHT','MAG-BHV','ZGF'])[1 + i % 10],
		       'e' || i, 'Eintrag ' || i, now(), now(),
		       (ARRAY['not_started','planned','in_progress','testing','live'])[1 + i % 5],
		       (ARRAY['not_started','planned','in_progress','testing','live'])[1 + (i / 5) % 5],
		       (ARRAY['not_started','planned','in_progress','testing','live','not_applicable'])[1 + (i / 25) % 6],
		       DATE '2026-01-01' + (i % 1000), DATE '2026-01-01' + (i * 7 % 1500),
		       CASE WHEN i % 3 > 0 THEN DATE '2025-06-01' + (i % 2000) END, 'keine personenbezogenen Daten'
		FROM generate_series(1, 1000000) i`).Error
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Exec(`VACUUM ANALYZE entries`).Error; err != nil {
		b.Fatal(err)
	}
	// The current report reads the counters (migration 00010), whose size follows the
	// distinct figures, not the entries: print it, so that a run shows the path it measured.
	var counts, dates int64
	if err := db.Raw(`SELECT (SELECT count(*) FROM readiness_counts), (SELECT count(*) FROM readiness_dates)`).Row().Scan(&counts, &dates); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("readiness counters: %d rows in readiness_counts, %d in readiness_dates\n", counts, dates)
	// The report runs as the service does: as regmo_app, under row-level security.
	app := testdb.App(b, dsn)
	reports := New(store.NewReports(app))
	ctx := context.Background()
	sqlDB, err := db.DB()
	if err != nil {
		b.Fatal(err)
	}
	// The baseline is the statement one would type into psql to get every figure of the
	// report: one row per Ressort and kind with all its counts. It runs over the simple query
	// protocol, as psql sends it, with today as a literal; every row and column is read.
	// (Wrapping it in SELECT count(*) FROM (...) would be wrong: PostgreSQL drops the unused
	// aggregates of a subquery and would measure the grouping alone.)
	baseline := filterAggregateSQL("entries", domain.Today(time.Now()))
	runBaseline := func() (map[string][]int64, error) { return runAggregate(ctx, sqlDB, baseline) }

	// The rewrite must not change a figure: compare the report with the baseline once.
	want, err := runBaseline()
	if err != nil || len(want) != 20 {
		b.Fatalf("baseline: %d groups, %v", len(want), err)
	}
	r, err := reports.Readiness(ctx, domain.ReadAll(), Filter{})
	if err != nil {
		b.Fatal(err)
	}
	checkAgainstAggregate(b, r, want)

	var reportMS, baselineMS, ownMS float64
	b.Run("report", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := reports.Readiness(ctx, domain.ReadAll(), Filter{})
			if err != nil || r.Total.Registers.Count+r.Total.Onlinedienste.Count != 1_000_000 {
				b.Fatalf("report: %v", err)
			}
		}
		reportMS = msPerOp(b)
		b.ReportMetric(reportMS, "ms/report")
	})
	b.Run("sql_aggregate", func(b *testing.B) {
		for b.Loop() {
			if groups, err := runBaseline(); err != nil || len(groups) != 20 {
				b.Fatalf("aggregate: %d groups, %v", len(groups), err)
			}
		}
		baselineMS = msPerOp(b)
		b.ReportMetric(baselineMS, "ms/aggregate")
	})
	// The store's read alone (the report's own statement in its transaction, read row by
	// row, as regmo_app): what the report adds to it in Go.
	b.Run("report_statement", func(b *testing.B) {
		st := store.NewReports(app)
		today := domain.Today(time.Now())
		for b.Loop() {
			if _, groups, _, err := st.Readiness(ctx, domain.ReadAll(), nil, "", nil, today); err != nil || len(groups) == 0 {
				b.Fatalf("statement: %d rows, %v", len(groups), err)
			}
		}
		ownMS = msPerOp(b)
		b.ReportMetric(ownMS, "ms/statement")
	})
	if reportMS > 0 && baselineMS > 0 && ownMS > 0 {
		fmt.Printf("readiness report over 1,000,000 entries: report %.0f ms, SQL aggregate alone %.0f ms, ratio %.2f (target ≤ 2, report < 1000 ms); the store's read alone %.0f ms (report/store read %.2f)\n",
			reportMS, baselineMS, reportMS/baselineMS, ownMS, reportMS/ownMS)
	}
}

// runAggregate runs a statement of filterAggregateSQL over the simple query protocol, as
// psql sends it, reads every row and column, and returns the figures by Ressort/kind.
func runAggregate(ctx context.Context, sqlDB *sql.DB, stmt string) (map[string][]int64, error) {
	rows, err := sqlDB.QueryContext(ctx, stmt, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]int64{}
	for rows.Next() {
		var ressort, kind string
		counts := make([]int64, 2+len(domain.Dimensions)*(len(domain.Stages)+1))
		dest := []any{&ressort, &kind}
		for i := range counts {
			dest = append(dest, &counts[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out[ressort+"/"+kind] = counts
	}
	return out, rows.Err()
}

// checkAgainstAggregate fails unless every figure of the report equals the aggregate's.
func checkAgainstAggregate(b *testing.B, report Readiness, want map[string][]int64) {
	b.Helper()
	for _, rs := range report.Ressorts {
		for _, k := range []struct {
			kind domain.Kind
			sum  KindSummary
		}{{domain.KindRegister, rs.Registers}, {domain.KindOnlinedienst, rs.Onlinedienste}} {
			w := want[rs.Ressort.Code+"/"+string(k.kind)]
			if w == nil {
				w = make([]int64, 2+len(domain.Dimensions)*(len(domain.Stages)+1))
			}
			if got := flatSummary(k.sum); !slices.Equal(got, w) {
				b.Fatalf("%s/%s: report %v, SQL aggregate %v", rs.Ressort.Code, k.kind, got, w)
			}
		}
	}
}

// msPerOp is the time per iteration of the benchmark's last run.
func msPerOp(b *testing.B) float64 {
	return float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
}

// filterAggregateSQL is the readiness report as a single SQL aggregate over from (a table,
// or a subquery with an alias), written independently of the store's statement: per Ressort and kind
// the count, fully ready, and per dimension the six stage counts followed by the overdue count.
func filterAggregateSQL(from, today string) string {
	ready := func(d domain.Dimension) string { return fmt.Sprintf("%s_stage IN ('live','not_applicable')", d) }
	cols := []string{"count(*)", fmt.Sprintf("count(*) FILTER (WHERE %s AND %s AND %s)",
		ready(domain.DimensionIDNr), ready(domain.DimensionNOOTS), ready(domain.DimensionDSC))}
	for _, d := range domain.Dimensions {
		for _, s := range domain.Stages {
			cols = append(cols, fmt.Sprintf("count(*) FILTER (WHERE %s_stage = '%s')", d, s))
		}
		cols = append(cols, fmt.Sprintf("count(*) FILTER (WHERE %s_target_date < DATE '%s' AND NOT %s)", d, today, ready(d)))
	}
	return "SELECT ressort, kind, " + strings.Join(cols, ", ") + " FROM " + from + " GROUP BY ressort, kind"
}

// flatSummary lists a summary's figures in the columns of filterAggregateSQL.
func flatSummary(k KindSummary) []int64 {
	out := []int64{k.Count, k.FullyReady}
	for _, d := range domain.Dimensions {
		for _, s := range domain.Stages {
			out = append(out, k.Dimensions[d].Stages[s])
		}
		out = append(out, k.Dimensions[d].Overdue)
	}
	return out
}
