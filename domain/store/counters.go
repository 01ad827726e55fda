package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// counted reads the current readiness figures of the given Ressorts (nil: all) from the
// counters of migration 00010 in one statement: the sums of readiness_counts by Ressort, kind
// and combination of stages, and those of readiness_dates by Ressort, kind, dimension and
// stage over the target dates before today. Both tables hold signed deltas folded together
// by Counters.Compact, so their size follows the writes since the last compaction, not the
// inventory. Row-level security filters them as it filters entries.
func counted(tx *gorm.DB, codes []string, kind domain.Kind, today string) ([]StageGroup, []DatedGroup, error) {
	sql, args := countedSQL(codes, kind, today)
	groups, dated, err := readGroups(tx, sql, args)
	if err != nil {
		return nil, nil, fmt.Errorf("store: readiness counters: %w", err)
	}
	return groups, dated, nil
}

// readGroups runs a statement in the shape of countedSQL's: a row with an empty dimension is
// a stage group; any other is a dated group whose stage is in the first stage column.
func readGroups(tx *gorm.DB, sql string, args []any) ([]StageGroup, []DatedGroup, error) {
	rows, err := tx.Raw(sql, args...).Rows()
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var groups []StageGroup
	var dated []DatedGroup
	for rows.Next() {
		var ressort, dimension string
		var k domain.Kind
		var stages [3]domain.Stage
		var n int64
		if err := rows.Scan(&ressort, &k, &dimension, &stages[0], &stages[1], &stages[2], &n); err != nil {
			return nil, nil, err
		}
		if dimension == "" {
			groups = append(groups, StageGroup{Ressort: ressort, Kind: k, Stages: stages, Count: n})
			continue
		}
		dated = append(dated, DatedGroup{Ressort: ressort, Kind: k, Dimension: domain.Dimension(dimension), Stage: stages[0], Count: n})
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return groups, dated, nil
}

// countedSQL is the statement of counted and its arguments, in the shape readGroups reads.
func countedSQL(codes []string, kind domain.Kind, today string) (string, []any) {
	var p params
	day := p.add(today)
	var conds []string
	if codes != nil {
		conds = append(conds, "ressort = ANY("+p.add(textArray(codes))+"::text[])")
	}
	if kind != "" {
		conds = append(conds, "kind = "+p.add(string(kind)))
	}
	where, datedWhere := "", " WHERE target_date < "+day+"::date"
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
		datedWhere += " AND " + strings.Join(conds, " AND ")
	}
	return `SELECT ressort, kind, '' AS dimension, idnr_stage::text, noots_stage::text, dsc_stage::text, sum(n)::bigint
		FROM readiness_counts` + where + `
		GROUP BY ressort, kind, idnr_stage, noots_stage, dsc_stage HAVING sum(n) <> 0
		UNION ALL
		SELECT ressort, kind, dimension, stage::text, '', '', sum(n)::bigint
		FROM readiness_dates` + datedWhere + `
		GROUP BY ressort, kind, dimension, stage HAVING sum(n) <> 0`, p
}

// Counters checks, repairs and compacts the readiness counters of migration 00010. Check and
// Repair compare with entries and need a connection that reads past row-level security (the
// schema owner's, as regmo check runs); Compact runs as regmo_app too.
type Counters struct{ db *gorm.DB }

// NewCounters returns the counter maintenance on db.
func NewCounters(db *gorm.DB) *Counters { return &Counters{db: db} }

// CounterDiff is one figure of the counters that differs from the count over entries.
type CounterDiff struct {
	// Figure names it: "SF register idnr=planned noots=live dsc=testing" for the count of a
	// combination of stages, "SF register dsc=planned 2026-06-30" for a target date.
	Figure  string
	Counted int64 // what the counters say
	Actual  int64 // what entries say
}

// countsOf and datesOf count the rows of source (entries, or the versions valid at an
// instant) as the triggers of migration 00010 count entries.
func countsOf(source string) string {
	return `SELECT ressort, kind, idnr_stage, noots_stage, dsc_stage, count(*) AS n
		FROM ` + source + ` AS x GROUP BY ressort, kind, idnr_stage, noots_stage, dsc_stage`
}

func datesOf(source string) string {
	return `SELECT e.ressort, e.kind, d.dimension, d.stage, d.target_date, count(*) AS n
		FROM ` + source + ` AS e CROSS JOIN LATERAL (VALUES
			('idnr', e.idnr_stage, e.idnr_target_date),
			('noots', e.noots_stage, e.noots_target_date),
			('dsc', e.dsc_stage, e.dsc_target_date)) AS d(dimension, stage, target_date)
		WHERE d.target_date IS NOT NULL AND d.stage NOT IN ('live', 'not_applicable')
		GROUP BY e.ressort, e.kind, d.dimension, d.stage, d.target_date`
}

// figuresDiff is a statement that compares counted figures (counts and dates: relations of
// signed rows in the shape of readiness_counts and readiness_dates) with a count over
// source, and returns the figures that differ, each named with label (an SQL expression)
// before it. with holds common table expressions the relations use ("" for none).
func figuresDiff(with, counts, dates, source, label string) string {
	return `WITH ` + with + `c AS (SELECT ressort, kind, idnr_stage, noots_stage, dsc_stage, sum(n)::bigint AS n
			FROM ` + counts + ` AS c GROUP BY ressort, kind, idnr_stage, noots_stage, dsc_stage),
		e AS (` + countsOf(source) + `),
		cd AS (SELECT ressort, kind, dimension, stage, target_date, sum(n)::bigint AS n
			FROM ` + dates + ` AS d GROUP BY ressort, kind, dimension, stage, target_date),
		ed AS (` + datesOf(source) + `)
		SELECT ` + label + ` || figure AS figure, counted, actual FROM (
			SELECT ressort || ' ' || kind || ' idnr=' || idnr_stage || ' noots=' || noots_stage || ' dsc=' || dsc_stage AS figure,
				coalesce(c.n, 0) AS counted, coalesce(e.n, 0) AS actual
			FROM c FULL JOIN e USING (ressort, kind, idnr_stage, noots_stage, dsc_stage)
			UNION ALL
			SELECT ressort || ' ' || kind || ' ' || dimension || '=' || stage || ' ' || to_char(target_date, 'YYYY-MM-DD'),
				coalesce(cd.n, 0), coalesce(ed.n, 0)
			FROM cd FULL JOIN ed USING (ressort, kind, dimension, stage, target_date)) AS f
		WHERE counted <> actual
		ORDER BY figure`
}

var (
	// countersDiff compares the counters with entries.
	countersDiff = figuresDiff("", "readiness_counts", "readiness_dates", "entries", "''")
	// snapshotDiff compares the latest readiness snapshot (migration 00011) with the
	// versions valid at its instant.
	snapshotDiff = figuresDiff(`s AS (SELECT max(taken_at) AS at FROM readiness_snapshots), `,
		`(SELECT c.* FROM readiness_snapshot_counts c, s WHERE c.taken_at = s.at)`,
		`(SELECT d.* FROM readiness_snapshot_dates d, s WHERE d.taken_at = s.at)`,
		`(SELECT v.* FROM entry_versions v, s WHERE v.valid_from <= s.at AND (v.valid_to IS NULL OR v.valid_to > s.at))`,
		`'snapshot ' || to_char((SELECT at FROM s) AT TIME ZONE 'Europe/Berlin', 'YYYY-MM-DD HH24:MI') || ' '`)
)

// Check compares every figure of the counters with a count over entries, in one snapshot
// (the counters change in the transaction of every write, so a snapshot sees both agree),
// and returns the figures that differ, ordered by name.
func (c *Counters) Check(ctx context.Context) ([]CounterDiff, error) {
	var out []CounterDiff
	err := c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		out, err = countersDiffs(tx)
		return err
	}, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store: check counters: %w", err)
	}
	return out, nil
}

// Repair compares like Check and, when a figure differs, rebuilds both counter tables from
// entries, in one transaction that holds writes of entries and compactions off meanwhile.
// It returns what differed before.
func (c *Counters) Repair(ctx context.Context) ([]CounterDiff, error) {
	var out []CounterDiff
	err := c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Writers of entries wait until the rebuild commits; so does a compaction, whose
		// re-inserted sums the rebuild's DELETE would not see.
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('readiness_counters_compact'))`).Error; err != nil {
			return err
		}
		if err := tx.Exec(`LOCK TABLE entries IN SHARE MODE`).Error; err != nil {
			return err
		}
		var err error
		if out, err = countersDiffs(tx); err != nil || len(out) == 0 {
			return err
		}
		// The snapshots are derived from history, not from the counters; one that differs is
		// removed with every other, and serve's job takes them again from the start.
		for _, stmt := range []string{
			`DELETE FROM readiness_snapshots`,
			`DELETE FROM readiness_counts`,
			`DELETE FROM readiness_dates`,
			`INSERT INTO readiness_counts (ressort, kind, idnr_stage, noots_stage, dsc_stage, n) ` + countsOf("entries"),
			`INSERT INTO readiness_dates (ressort, kind, dimension, stage, target_date, n) ` + datesOf("entries"),
		} {
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: repair counters: %w", err)
	}
	return out, nil
}

// countersDiffs counts every entry: at 10,000,000 that takes longer than a request's
// statement timeout, which it lifts for its transaction.
func countersDiffs(tx *gorm.DB) ([]CounterDiff, error) {
	if err := tx.Exec(`SET LOCAL statement_timeout = 0`).Error; err != nil {
		return nil, err
	}
	var out, snap []CounterDiff
	if err := tx.Raw(countersDiff).Scan(&out).Error; err != nil {
		return nil, err
	}
	if err := tx.Raw(snapshotDiff).Scan(&snap).Error; err != nil {
		return nil, err
	}
	return append(out, snap...), nil
}

// Compact folds the counters' deltas into one row per figure and returns how many rows it
// removed (0 when another instance is compacting). No figure changes, and writes go on
// meanwhile: they only ever insert.
func (c *Counters) Compact(ctx context.Context) (int64, error) {
	var removed int64
	if err := c.db.WithContext(ctx).Raw(`SELECT readiness_counters_compact()`).Scan(&removed).Error; err != nil {
		return 0, fmt.Errorf("store: compact counters: %w", err)
	}
	return removed, nil
}
