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

// countsFromEntries and datesFromEntries count entries as the triggers do.
const (
	countsFromEntries = `SELECT ressort, kind, idnr_stage, noots_stage, dsc_stage, count(*) AS n
		FROM entries GROUP BY ressort, kind, idnr_stage, noots_stage, dsc_stage`
	datesFromEntries = `SELECT e.ressort, e.kind, d.dimension, d.stage, d.target_date, count(*) AS n
		FROM entries e CROSS JOIN LATERAL (VALUES
			('idnr', e.idnr_stage, e.idnr_target_date),
			('noots', e.noots_stage, e.noots_target_date),
			('dsc', e.dsc_stage, e.dsc_target_date)) AS d(dimension, stage, target_date)
		WHERE d.target_date IS NOT NULL AND d.stage NOT IN ('live', 'not_applicable')
		GROUP BY e.ressort, e.kind, d.dimension, d.stage, d.target_date`
	countersDiff = `WITH c AS (SELECT ressort, kind, idnr_stage, noots_stage, dsc_stage, sum(n)::bigint AS n
			FROM readiness_counts GROUP BY ressort, kind, idnr_stage, noots_stage, dsc_stage),
		e AS (` + countsFromEntries + `),
		cd AS (SELECT ressort, kind, dimension, stage, target_date, sum(n)::bigint AS n
			FROM readiness_dates GROUP BY ressort, kind, dimension, stage, target_date),
		ed AS (` + datesFromEntries + `)
		SELECT figure, counted, actual FROM (
			SELECT ressort || ' ' || kind || ' idnr=' || idnr_stage || ' noots=' || noots_stage || ' dsc=' || dsc_stage AS figure,
				coalesce(c.n, 0) AS counted, coalesce(e.n, 0) AS actual
			FROM c FULL JOIN e USING (ressort, kind, idnr_stage, noots_stage, dsc_stage)
			UNION ALL
			SELECT ressort || ' ' || kind || ' ' || dimension || '=' || stage || ' ' || to_char(target_date, 'YYYY-MM-DD'),
				coalesce(cd.n, 0), coalesce(ed.n, 0)
			FROM cd FULL JOIN ed USING (ressort, kind, dimension, stage, target_date)) AS f
		WHERE counted <> actual
		ORDER BY figure`
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
			`INSERT INTO readiness_counts (ressort, kind, idnr_stage, noots_stage, dsc_stage, n) ` + countsFromEntries,
			`INSERT INTO readiness_dates (ressort, kind, dimension, stage, target_date, n) ` + datesFromEntries,
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

// snapshotDiff compares the latest readiness snapshot (migration 00011) with a count over
// the versions valid at its instant, the way countersDiff compares the counters with entries.
const snapshotDiff = `WITH s AS (SELECT max(taken_at) AS at FROM readiness_snapshots),
	v AS (SELECT v.* FROM entry_versions v, s WHERE v.valid_from <= s.at AND (v.valid_to IS NULL OR v.valid_to > s.at)),
	c AS (SELECT ressort, kind, idnr_stage, noots_stage, dsc_stage, n FROM readiness_snapshot_counts, s WHERE taken_at = s.at),
	e AS (SELECT ressort, kind, idnr_stage, noots_stage, dsc_stage, count(*) AS n
		FROM v GROUP BY ressort, kind, idnr_stage, noots_stage, dsc_stage),
	cd AS (SELECT ressort, kind, dimension, stage, target_date, n FROM readiness_snapshot_dates, s WHERE taken_at = s.at),
	ed AS (SELECT v.ressort, v.kind, d.dimension, d.stage, d.target_date, count(*) AS n
		FROM v CROSS JOIN LATERAL (VALUES
			('idnr', v.idnr_stage, v.idnr_target_date),
			('noots', v.noots_stage, v.noots_target_date),
			('dsc', v.dsc_stage, v.dsc_target_date)) AS d(dimension, stage, target_date)
		WHERE d.target_date IS NOT NULL AND d.stage NOT IN ('live', 'not_applicable')
		GROUP BY v.ressort, v.kind, d.dimension, d.stage, d.target_date)
	SELECT 'snapshot ' || to_char((SELECT at FROM s) AT TIME ZONE 'Europe/Berlin', 'YYYY-MM-DD HH24:MI') || ' ' || figure AS figure, counted, actual FROM (
		SELECT ressort || ' ' || kind || ' idnr=' || idnr_stage || ' noots=' || noots_stage || ' dsc=' || dsc_stage AS figure,
			coalesce(c.n, 0) AS counted, coalesce(e.n, 0) AS actual
		FROM c FULL JOIN e USING (ressort, kind, idnr_stage, noots_stage, dsc_stage)
		UNION ALL
		SELECT ressort || ' ' || kind || ' ' || dimension || '=' || stage || ' ' || to_char(target_date, 'YYYY-MM-DD'),
			coalesce(cd.n, 0), coalesce(ed.n, 0)
		FROM cd FULL JOIN ed USING (ressort, kind, dimension, stage, target_date)) AS f
	WHERE counted <> actual
	ORDER BY figure`

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
