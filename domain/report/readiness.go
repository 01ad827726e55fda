package report

import (
	"context"
	"math"
	"time"

	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
)

// DimensionSummary counts the entries of one kind by stage in one dimension.
type DimensionSummary struct {
	Stages   map[domain.Stage]int64
	Ready    int64
	ReadyPct float64
	Overdue  int64
}

// KindSummary aggregates the entries of one kind.
type KindSummary struct {
	Count      int64
	FullyReady int64
	Dimensions map[domain.Dimension]*DimensionSummary
}

func newKindSummary() KindSummary {
	k := KindSummary{Dimensions: map[domain.Dimension]*DimensionSummary{}}
	for _, d := range domain.Dimensions {
		k.Dimensions[d] = &DimensionSummary{Stages: map[domain.Stage]int64{}}
		for _, s := range domain.Stages {
			k.Dimensions[d].Stages[s] = 0
		}
	}
	return k
}

// Add sums another summary into k.
func (k *KindSummary) Add(o KindSummary) {
	k.Count += o.Count
	k.FullyReady += o.FullyReady
	for _, d := range domain.Dimensions {
		for _, s := range domain.Stages {
			k.Dimensions[d].Stages[s] += o.Dimensions[d].Stages[s]
		}
		k.Dimensions[d].Overdue += o.Dimensions[d].Overdue
	}
}

// finish derives ready and ready_pct from the stage counts.
func (k *KindSummary) finish() {
	for _, d := range domain.Dimensions {
		ds := k.Dimensions[d]
		ds.Ready = ds.Stages[domain.StageLive] + ds.Stages[domain.StageNotApplicable]
		ds.ReadyPct = 0
		if k.Count > 0 {
			ds.ReadyPct = math.Round(float64(ds.Ready)*1000/float64(k.Count)) / 10
		}
	}
}

// addGroup counts a group into k. Ready and fully ready follow from the group's stages;
// overdue comes from the dated groups (addDated).
func (k *KindSummary) addGroup(g store.StageGroup) {
	k.Count += g.Count
	fullyReady := true
	for i, d := range domain.Dimensions {
		ds := k.Dimensions[d]
		if g.Stages[i].Valid() {
			ds.Stages[g.Stages[i]] += g.Count
		}
		if !g.Stages[i].Ready() {
			fullyReady = false
		}
	}
	if fullyReady {
		k.FullyReady += g.Count
	}
}

// addDated counts the entries of a dated group as overdue in its dimension: their target
// date has passed and their stage is not ready.
func (k *KindSummary) addDated(g store.DatedGroup) {
	if ds := k.Dimensions[g.Dimension]; ds != nil && !g.Stage.Ready() {
		ds.Overdue += g.Count
	}
}

// RessortSummary is one Ressort's line of the readiness report.
type RessortSummary struct {
	Ressort       domain.Ressort
	Registers     KindSummary
	Onlinedienste KindSummary
}

func newRessortSummary(r domain.Ressort) RessortSummary {
	return RessortSummary{Ressort: r, Registers: newKindSummary(), Onlinedienste: newKindSummary()}
}

// Readiness is the aggregate readiness of every Ressort the caller may read.
type Readiness struct {
	AsOf        time.Time
	GeneratedAt time.Time
	Ressorts    []RessortSummary
	Total       RessortSummary
}

// Readiness aggregates in SQL (memory does not grow with the inventory) over what the scope
// may read, so that nothing of another Ressort is counted.
func (s *Service) Readiness(ctx context.Context, scope domain.ReadScope, f Filter) (Readiness, error) {
	now := s.now()
	at := now
	if f.AsOf != nil {
		at = *f.AsOf
	}
	ressorts, groups, dated, err := s.store.Readiness(ctx, scope, f.Ressorts, f.Kind, f.AsOf, domain.Today(at))
	if err != nil {
		return Readiness{}, err
	}
	r := Readiness{AsOf: at.UTC(), GeneratedAt: now.UTC(), Total: newRessortSummary(domain.Ressort{})}
	byCode := map[string]*RessortSummary{}
	r.Ressorts = make([]RessortSummary, len(ressorts))
	for i, rs := range ressorts {
		r.Ressorts[i] = newRessortSummary(rs)
		byCode[rs.Code] = &r.Ressorts[i]
	}
	for _, g := range groups {
		rs := byCode[g.Ressort]
		if rs == nil {
			continue
		}
		target := &rs.Registers
		if g.Kind == domain.KindOnlinedienst {
			target = &rs.Onlinedienste
		}
		target.addGroup(g)
	}
	for _, g := range dated {
		rs := byCode[g.Ressort]
		if rs == nil {
			continue
		}
		target := &rs.Registers
		if g.Kind == domain.KindOnlinedienst {
			target = &rs.Onlinedienste
		}
		target.addDated(g)
	}
	for i := range r.Ressorts {
		rs := &r.Ressorts[i]
		r.Total.Registers.Add(rs.Registers)
		r.Total.Onlinedienste.Add(rs.Onlinedienste)
		rs.Registers.finish()
		rs.Onlinedienste.finish()
	}
	r.Total.Registers.finish()
	r.Total.Onlinedienste.finish()
	return r, nil
}
