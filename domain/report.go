package domain

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DimensionSummary counts the entries of one kind by stage in one dimension.
type DimensionSummary struct {
	Stages   map[Stage]int64
	Ready    int64
	ReadyPct float64
	Overdue  int64
}

// KindSummary aggregates the entries of one kind.
type KindSummary struct {
	Count      int64
	FullyReady int64
	Dimensions map[Dimension]*DimensionSummary
}

func newKindSummary() KindSummary {
	k := KindSummary{Dimensions: map[Dimension]*DimensionSummary{}}
	for _, d := range Dimensions {
		k.Dimensions[d] = &DimensionSummary{Stages: map[Stage]int64{}}
		for _, s := range Stages {
			k.Dimensions[d].Stages[s] = 0
		}
	}
	return k
}

// add sums another summary into k.
func (k *KindSummary) add(o KindSummary) {
	k.Count += o.Count
	k.FullyReady += o.FullyReady
	for _, d := range Dimensions {
		for _, s := range Stages {
			k.Dimensions[d].Stages[s] += o.Dimensions[d].Stages[s]
		}
		k.Dimensions[d].Overdue += o.Dimensions[d].Overdue
	}
}

// finish derives ready and ready_pct from the stage counts.
func (k *KindSummary) finish() {
	for _, d := range Dimensions {
		ds := k.Dimensions[d]
		ds.Ready = ds.Stages[StageLive] + ds.Stages[StageNotApplicable]
		ds.ReadyPct = 0
		if k.Count > 0 {
			ds.ReadyPct = math.Round(float64(ds.Ready)*1000/float64(k.Count)) / 10
		}
	}
}

// RessortSummary is one Ressort's line of the readiness report.
type RessortSummary struct {
	Ressort       Ressort
	Registers     KindSummary
	Onlinedienste KindSummary
}

// ReadinessReport is the aggregate readiness of every Ressort the caller may read.
type ReadinessReport struct {
	AsOf        time.Time
	GeneratedAt time.Time
	Ressorts    []RessortSummary
	Total       RessortSummary
}

// ReportFilter narrows a report.
type ReportFilter struct {
	AsOf     *time.Time
	Ressorts []string
	// Kind, when set, counts only registers or only Onlinedienste.
	Kind Kind
}

// Readiness aggregates in SQL (memory does not grow with the inventory) over what the scope
// may read, so that nothing of another Ressort is counted.
func (inv *Inventory) Readiness(ctx context.Context, scope Scope, f ReportFilter) (ReadinessReport, error) {
	now := inv.now()
	at := now
	if f.AsOf != nil {
		at = *f.AsOf
	}
	codes, all := scope.restrict(f.Ressorts)
	var ressorts []Ressort
	q := inv.db.WithContext(ctx).Table("ressorts").Select("code, name").Order("code")
	if !all {
		q = q.Where("code = ANY(?::text[])", textArray(codes))
	}
	if err := q.Scan(&ressorts).Error; err != nil {
		return ReadinessReport{}, fmt.Errorf("store: report ressorts: %w", err)
	}
	report := ReadinessReport{AsOf: at.UTC(), GeneratedAt: now.UTC(), Total: RessortSummary{
		Registers: newKindSummary(), Onlinedienste: newKindSummary()}}
	byCode := map[string]*RessortSummary{}
	report.Ressorts = make([]RessortSummary, len(ressorts))
	for i, r := range ressorts {
		report.Ressorts[i] = RessortSummary{Ressort: r, Registers: newKindSummary(), Onlinedienste: newKindSummary()}
		byCode[r.Code] = &report.Ressorts[i]
	}
	if len(ressorts) > 0 {
		// Without a restriction the aggregate reads every row and needs no filter on the
		// Ressort: rows of Ressorts not in the list cannot exist (foreign key).
		var only []string
		if !all {
			only = ressortCodes(ressorts)
		}
		rows, err := inv.aggregate(ctx, only, f.Kind, f.AsOf, Today(at))
		if err != nil {
			return ReadinessReport{}, err
		}
		for _, row := range rows {
			rs := byCode[row.Ressort]
			if rs == nil {
				continue
			}
			target := &rs.Registers
			if Kind(row.Kind) == KindOnlinedienst {
				target = &rs.Onlinedienste
			}
			target.add(row.summary())
		}
	}
	for i := range report.Ressorts {
		rs := &report.Ressorts[i]
		report.Total.Registers.add(rs.Registers)
		report.Total.Onlinedienste.add(rs.Onlinedienste)
		rs.Registers.finish()
		rs.Onlinedienste.finish()
	}
	report.Total.Registers.finish()
	report.Total.Onlinedienste.finish()
	return report, nil
}

func ressortCodes(rs []Ressort) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Code
	}
	return out
}

// aggregateRow is one Ressort × kind of the SQL aggregate; Counts holds, per dimension in
// the order of Dimensions, the six stage counts followed by the overdue count.
type aggregateRow struct {
	Ressort    string
	Kind       string
	Count      int64
	FullyReady int64
	Counts     textArray
}

func (r aggregateRow) summary() KindSummary {
	k := newKindSummary()
	k.Count, k.FullyReady = r.Count, r.FullyReady
	i := 0
	for _, d := range Dimensions {
		for _, s := range Stages {
			k.Dimensions[d].Stages[s] = parseCount(r.Counts, i)
			i++
		}
		k.Dimensions[d].Overdue = parseCount(r.Counts, i)
		i++
	}
	return k
}

func parseCount(a textArray, i int) int64 {
	if i >= len(a) {
		return 0
	}
	n, _ := strconv.ParseInt(a[i], 10, 64) // written by our own count(*)::text
	return n
}

// aggregate counts by Ressort and kind in one pass over the entries (or their versions at
// an instant), of the given Ressorts (nil: all).
func (inv *Inventory) aggregate(ctx context.Context, codes []string, kind Kind, asOf *time.Time, today string) ([]aggregateRow, error) {
	sql, args := aggregateSQL(codes, kind, asOf, today)
	var rows []aggregateRow
	if err := inv.db.WithContext(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: readiness aggregate: %w", err)
	}
	return rows, nil
}

// aggregateSQL is the statement of aggregate and its arguments.
func aggregateSQL(codes []string, kind Kind, asOf *time.Time, today string) (string, []any) {
	ready := func(d Dimension) string { return string(d) + "_stage IN ('live', 'not_applicable')" }
	var cols []string
	args := []any{}
	for _, d := range Dimensions {
		for _, s := range Stages {
			cols = append(cols, fmt.Sprintf("count(*) FILTER (WHERE %s_stage = '%s')", d, s))
		}
		cols = append(cols, fmt.Sprintf("count(*) FILTER (WHERE %s_target_date < ?::date AND NOT (%s))", d, ready(d)))
		args = append(args, today)
	}
	source := "entries"
	where := "true"
	var whereArgs []any
	if codes != nil {
		where = "ressort = ANY(?::text[])"
		whereArgs = append(whereArgs, textArray(codes))
	}
	if asOf != nil {
		source = "entry_versions"
		where += " AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"
		whereArgs = append(whereArgs, *asOf, *asOf)
	}
	if kind != "" {
		where += " AND kind = ?"
		whereArgs = append(whereArgs, string(kind))
	}
	sql := `SELECT ressort, kind, count(*) AS count,
		count(*) FILTER (WHERE ` + ready(DimensionIDNr) + ` AND ` + ready(DimensionNOOTS) + ` AND ` + ready(DimensionDSC) + `) AS fully_ready,
		ARRAY[` + strings.Join(cols, ", ") + `]::text[] AS counts
		FROM ` + source + ` WHERE ` + where + ` GROUP BY ressort, kind`
	return sql, append(args, whereArgs...)
}
