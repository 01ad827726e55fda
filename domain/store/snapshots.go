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
// the same sum starts from the empty inventory and reads the whole history; the answer is
// the same, only slower.
func snapshotted(tx *gorm.DB, codes []string, kind domain.Kind, at time.Time, today string) ([]StageGroup, []DatedGroup, error) {
	sql, args := snapshottedSQL(codes, kind, at, today)
	groups, dated, err := readGroups(tx, sql, args)
	if err != nil {
		return nil, nil, fmt.Errorf("store: readiness as of %s: %w", at.Format(time.RFC3339), err)
	}
	return groups, dated, nil
}

// snapshottedSQL is the statement of snapshotted and its arguments, in the shape readGroups
// reads. The instant of the snapshot is a scalar subquery, so that PostgreSQL finds the
// versions since through the indexes on valid_from and valid_to.
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
	taken := "(SELECT coalesce(max(taken_at), '-infinity') FROM readiness_snapshots WHERE taken_at <= " + instant + "::timestamptz)"
	return `WITH delta AS MATERIALIZED (
			SELECT ressort, kind, idnr_stage, noots_stage, dsc_stage,
				idnr_target_date, noots_target_date, dsc_target_date, 1 AS n
			FROM entry_versions WHERE valid_from > ` + taken + ` AND valid_from <= ` + instant + `::timestamptz` + only + `
			UNION ALL
			SELECT ressort, kind, idnr_stage, noots_stage, dsc_stage,
				idnr_target_date, noots_target_date, dsc_target_date, -1
			FROM entry_versions WHERE valid_to > ` + taken + ` AND valid_to <= ` + instant + `::timestamptz` + only + `)
		SELECT ressort, kind, '' AS dimension, idnr_stage::text, noots_stage::text, dsc_stage::text, sum(n)::bigint
		FROM (SELECT ressort, kind, idnr_stage, noots_stage, dsc_stage, n FROM readiness_snapshot_counts
				WHERE taken_at = ` + taken + only + `
			UNION ALL
			SELECT ressort, kind, idnr_stage, noots_stage, dsc_stage, n FROM delta) AS c
		GROUP BY ressort, kind, idnr_stage, noots_stage, dsc_stage HAVING sum(n) <> 0
		UNION ALL
		SELECT ressort, kind, dimension, stage::text, '', '', sum(n)::bigint
		FROM (SELECT ressort, kind, dimension, stage, n FROM readiness_snapshot_dates
				WHERE taken_at = ` + taken + ` AND target_date < ` + day + `::date` + only + `
			UNION ALL
			SELECT d.ressort, d.kind, x.dimension, x.stage, d.n
			FROM delta d CROSS JOIN LATERAL (VALUES
				('idnr', d.idnr_stage, d.idnr_target_date),
				('noots', d.noots_stage, d.noots_target_date),
				('dsc', d.dsc_stage, d.dsc_target_date)) AS x(dimension, stage, target_date)
			WHERE x.target_date < ` + day + `::date AND x.stage NOT IN ('live', 'not_applicable')) AS c
		GROUP BY ressort, kind, dimension, stage HAVING sum(n) <> 0`, p
}

// Snapshot takes the snapshot of the readiness figures at the instant (migration 00011),
// which must not lie in the future; it reports false when one exists already. Writes of
// history wait until it commits.
func (c *Counters) Snapshot(ctx context.Context, at time.Time) (bool, error) {
	var taken bool
	if err := c.db.WithContext(ctx).Raw(`SELECT readiness_snapshot_take($1)`, at).Scan(&taken).Error; err != nil {
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
