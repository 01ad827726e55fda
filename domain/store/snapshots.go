package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// snapshotted reads the readiness figures of the given Ressorts (nil: all) as they were at
// the instant, in one statement (so in one snapshot of the database): the latest daily
// snapshot of the counters taken at or before it (migration 00011), plus every version that
// began since, minus every version that ended since. Without a snapshot before the instant
// it counts the versions valid then, as a snapshot is taken.
func snapshotted(tx *gorm.DB, codes []string, kind domain.Kind, at time.Time, today string) ([]StageGroup, []DatedGroup, error) {
	sql, args := snapshottedSQL(codes, kind, at, today)
	groups, dated, err := readGroups(tx, sql, args)
	if err != nil {
		return nil, nil, fmt.Errorf("store: readiness as of %s: %w", at.Format(time.RFC3339), err)
	}
	return groups, dated, nil
}

// snapshottedSQL is the statement of snapshotted and its arguments, in the shape readGroups
// reads. Signed rows of versions come from one of two branches, whose conditions on the
// snapshot's instant PostgreSQL decides once before running either: with a snapshot, the
// versions since, found through the indexes on valid_from and valid_to; without, every
// version valid at the instant. One pass groups them by combination of stages, counting
// the target dates that have passed per dimension alongside (g, at most Ressorts × 2 × 6³
// rows); the snapshot's rows are added to g's.
func snapshottedSQL(codes []string, kind domain.Kind, at time.Time, today string) (string, []any) {
	var p params
	instant, day := p.add(at), p.add(today)
	var conds []string
	if codes != nil {
		conds = append(conds, "ressort = ANY("+p.add(textArray(codes))+"::text[])")
	}
	if kind != "" {
		conds = append(conds, "kind = "+p.add(string(kind)))
	}
	only := ""
	if len(conds) > 0 {
		only = " AND " + strings.Join(conds, " AND ")
	}
	const stages = `ressort, kind, idnr_stage, noots_stage, dsc_stage`
	const columns = stages + `, idnr_target_date, noots_target_date, dsc_target_date`
	t := instant + "::timestamptz"
	var passed, dated []string
	for _, d := range domain.Dimensions {
		passed = append(passed, fmt.Sprintf("sum(n) FILTER (WHERE %s_target_date < %s::date) AS %[1]s_passed", d, day))
		dated = append(dated, fmt.Sprintf(`SELECT ressort, kind, '%[1]s', %[1]s_stage, %[1]s_passed FROM g
			WHERE %[1]s_passed <> 0 AND %[1]s_stage NOT IN ('live', 'not_applicable')`, d))
	}
	return `WITH s AS (SELECT max(taken_at) AS at FROM readiness_snapshots WHERE taken_at <= ` + t + `),
		signed AS (
			SELECT ` + columns + `, 1 AS n FROM entry_versions
			WHERE (SELECT at FROM s) IS NOT NULL AND valid_from > (SELECT at FROM s) AND valid_from <= ` + t + only + `
			UNION ALL
			SELECT ` + columns + `, -1 FROM entry_versions
			WHERE (SELECT at FROM s) IS NOT NULL AND valid_to > (SELECT at FROM s) AND valid_to <= ` + t + only + `
			UNION ALL
			SELECT ` + columns + `, 1 FROM entry_versions
			WHERE (SELECT at FROM s) IS NULL AND valid_from <= ` + t + ` AND (valid_to IS NULL OR valid_to > ` + t + `)` + only + `),
		g AS (SELECT ` + stages + `, sum(n) AS n, ` + strings.Join(passed, ", ") + `
			FROM signed GROUP BY ` + stages + `)
		SELECT ressort, kind, '' AS dimension, idnr_stage::text, noots_stage::text, dsc_stage::text, sum(n)::bigint
		FROM (SELECT ` + stages + `, n FROM readiness_snapshot_counts WHERE taken_at = (SELECT at FROM s)` + only + `
			UNION ALL
			SELECT ` + stages + `, n FROM g) AS c
		GROUP BY ` + stages + ` HAVING sum(n) <> 0
		UNION ALL
		SELECT ressort, kind, dimension, stage::text, '', '', sum(n)::bigint
		FROM (SELECT ressort, kind, dimension, stage, n FROM readiness_snapshot_dates
				WHERE taken_at = (SELECT at FROM s) AND target_date < ` + day + `::date` + only + `
			UNION ALL
			` + strings.Join(dated, `
			UNION ALL
			`) + `) AS c(ressort, kind, dimension, stage, n)
		GROUP BY ressort, kind, dimension, stage HAVING sum(n) <> 0`, p
}

// Snapshot takes the snapshot of the readiness figures at the instant (migration 00011),
// which must not lie in the future; it reports false when one exists already. Writes of
// history wait until it commits.
func (c *Counters) Snapshot(ctx context.Context, at time.Time) (bool, error) {
	var taken bool
	err := c.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The first snapshot sums the history before it: at 10,000,000 versions longer than
		// a request's statement timeout, which its transaction lifts.
		if err := tx.Exec(`SET LOCAL statement_timeout = 0`).Error; err != nil {
			return err
		}
		return tx.Raw(`SELECT readiness_snapshot_take($1)`, at).Scan(&taken).Error
	})
	if err != nil {
		return false, fmt.Errorf("store: readiness snapshot at %s: %w", at.Format(time.RFC3339), err)
	}
	return taken, nil
}

// TakeDailySnapshots takes the snapshots of every midnight in Europe/Berlin since history
// began, up to until, that are missing (none yet, or removed by a write of history dated
// before them), oldest first, each in its own transaction, so that each starts from the one
// before and writes wait for one snapshot at a time. It returns how many it took.
func (c *Counters) TakeDailySnapshots(ctx context.Context, until time.Time) (int, error) {
	var due []time.Time
	if err := c.db.WithContext(ctx).Raw(`SELECT * FROM readiness_snapshot_due($1)`, until).Scan(&due).Error; err != nil {
		return 0, fmt.Errorf("store: readiness snapshots due: %w", err)
	}
	n := 0
	for _, at := range due {
		taken, err := c.Snapshot(ctx, at)
		if err != nil {
			return n, err
		}
		if taken {
			n++
		}
	}
	return n, nil
}
