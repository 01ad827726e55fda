package report

import (
	"context"
	"time"

	"github.com/bremen/regmo/domain"
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
	Ressort   string
	Key       string
	Name      string
	Kind      domain.Kind
	Dimension domain.Dimension
	From      string
	To        string
	At        time.Time
	Actor     string
}

// Progress is what moved between two instants: the table "since the last Senate report".
type Progress struct {
	From, To time.Time
	Lines    []ProgressLine
	Changes  []StageChange
}

// Progress compares the readiness at two instants and lists the stage changes between them,
// all within the caller's scope.
func (s *Service) Progress(ctx context.Context, scope domain.ReadScope, ressorts []string, from, to time.Time) (Progress, error) {
	if !from.Before(to) {
		return Progress{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: "from", Message: "must lie before to"}}}
	}
	before, err := s.Readiness(ctx, scope, Filter{AsOf: &from, Ressorts: ressorts})
	if err != nil {
		return Progress{}, err
	}
	after, err := s.Readiness(ctx, scope, Filter{AsOf: &to, Ressorts: ressorts})
	if err != nil {
		return Progress{}, err
	}
	p := Progress{From: from.UTC(), To: to.UTC(), Lines: progressLines(before, after)}
	rows, err := s.store.StageChanges(ctx, scope, ressorts, from, to)
	if err != nil {
		return Progress{}, err
	}
	if rows != nil {
		p.Changes = make([]StageChange, len(rows))
		for i, r := range rows {
			p.Changes[i] = StageChange(r)
		}
	}
	return p, nil
}

// progressLines pairs the summaries of the two reports by Ressort code: they are two reads, and
// a Ressort created between them is in the second only (it counts as empty in the first).
func progressLines(before, after Readiness) []ProgressLine {
	old := make(map[string]RessortSummary, len(before.Ressorts))
	for _, rs := range before.Ressorts {
		old[rs.Ressort.Code] = rs
	}
	var lines []ProgressLine
	for _, rs := range after.Ressorts {
		was, ok := old[rs.Ressort.Code]
		if !ok {
			was = newRessortSummary(rs.Ressort)
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
