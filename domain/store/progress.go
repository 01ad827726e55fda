package store

import (
	"context"
	"fmt"
	"time"

	"github.com/bremen/regmo/domain"
	"gorm.io/gorm"
)

// ProgressLine is the ready count of one Ressort, kind and dimension at both ends of a period.
type ProgressLine struct {
	Ressort   string
	Kind      domain.Kind
	Dimension domain.Dimension
	CountFrom int64
	ReadyFrom int64
	CountTo   int64
	ReadyTo   int64
}

// StageChange is one change of a stage between the ends of a period.
type StageChange struct {
	Ressort   string           `gorm:"column:ressort"`
	Key       string           `gorm:"column:key"`
	Name      string           `gorm:"column:name"`
	Kind      domain.Kind      `gorm:"column:kind"`
	Dimension domain.Dimension `gorm:"column:dimension"`
	From      string           `gorm:"column:from_stage"`
	To        string           `gorm:"column:to_stage"`
	At        time.Time        `gorm:"column:at"`
	Actor     string           `gorm:"column:actor"`
}

// Progress is what moved between two instants: the table "since the last Senate report".
type Progress struct {
	From, To time.Time
	Lines    []ProgressLine
	Changes  []StageChange
}

// Progress compares the readiness at two instants and lists the stage changes between them,
// all within the caller's scope.
func (inv *Inventory) Progress(ctx context.Context, scope domain.ReadScope, ressorts []string, from, to time.Time) (Progress, error) {
	if !from.Before(to) {
		return Progress{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: "from", Message: "must lie before to"}}}
	}
	before, err := inv.Readiness(ctx, scope, ReportFilter{AsOf: &from, Ressorts: ressorts})
	if err != nil {
		return Progress{}, err
	}
	after, err := inv.Readiness(ctx, scope, ReportFilter{AsOf: &to, Ressorts: ressorts})
	if err != nil {
		return Progress{}, err
	}
	p := Progress{From: from.UTC(), To: to.UTC(), Lines: progressLines(before, after)}
	codes, all := scope.Restrict(ressorts)
	if !all && len(codes) == 0 {
		return p, nil
	}
	where := ""
	args := []any{from, to}
	if !all {
		where = " AND e.ressort = ANY(?::text[])"
		args = append(args, textArray(codes))
	}
	err = readTx(ctx, inv.db, scope, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT e.ressort, e.key, COALESCE(v.name, '') AS name, e.entity_type AS kind,
			d.dim AS dimension,
			COALESCE(e.changes -> ('readiness.' || d.dim || '.stage') ->> 'from', '') AS from_stage,
			COALESCE(e.changes -> ('readiness.' || d.dim || '.stage') ->> 'to', '') AS to_stage,
			e.at, e.actor
		FROM events e
		CROSS JOIN (VALUES ('idnr'), ('noots'), ('dsc')) AS d(dim)
		LEFT JOIN LATERAL (SELECT name FROM entry_versions v
			WHERE v.kind = e.entity_type AND v.ressort = e.ressort AND v.key = e.key AND v.valid_from <= e.at
			ORDER BY v.valid_from DESC LIMIT 1) v ON true
		WHERE e.entity_type IN ('register', 'onlinedienst') AND e.at > ? AND e.at <= ? AND
			jsonb_exists(e.changes, 'readiness.' || d.dim || '.stage')`+where+`
		ORDER BY e.at, e.id, d.dim`, args...).Scan(&p.Changes).Error
	})
	if err != nil {
		return Progress{}, fmt.Errorf("store: progress changes: %w", err)
	}
	return p, nil
}

// progressLines pairs the summaries of the two reports by Ressort code: they are two reads, and
// a Ressort created between them is in the second only (it counts as empty in the first).
func progressLines(before, after ReadinessReport) []ProgressLine {
	old := make(map[string]RessortSummary, len(before.Ressorts))
	for _, rs := range before.Ressorts {
		old[rs.Ressort.Code] = rs
	}
	var lines []ProgressLine
	for _, rs := range after.Ressorts {
		was, ok := old[rs.Ressort.Code]
		if !ok {
			was = RessortSummary{Ressort: rs.Ressort, Registers: newKindSummary(), Onlinedienste: newKindSummary()}
		}
		for _, k := range []struct {
			kind     domain.Kind
			old, new KindSummary
		}{{domain.KindRegister, was.Registers, rs.Registers}, {domain.KindOnlinedienst, was.Onlinedienste, rs.Onlinedienste}} {
			for _, d := range domain.Dimensions {
				lines = append(lines, ProgressLine{Ressort: rs.Ressort.Code, Kind: k.kind, Dimension: d,
					CountFrom: k.old.Count, ReadyFrom: k.old.Dimensions[d].Ready,
					CountTo: k.new.Count, ReadyTo: k.new.Dimensions[d].Ready})
			}
		}
	}
	return lines
}
