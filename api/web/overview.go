package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/bremen/regmo/api/param"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/report"
)

// The bar of one Ressort and dimension is drawn in this many SVG units.
const barWidth = 200.0

type overviewData struct {
	Stand, Seit string
	// StandLabel says which day the figures describe.
	StandLabel string
	Error      string
	Rows       []ressortRow
	Total      ressortRow
	Trend      *trendData
	Coverage   []coverageCell
	Gaps       int
	Progress   *progressView
	Findings   bool
}

type ressortRow struct {
	Code, Name                     string
	Link                           bool
	Count                          int64
	Dims                           []dimBar
	Overdue, Blocked, Inconsistent int
}

type dimBar struct {
	Dim      domain.Dimension
	Count    int64
	Stages   []int64 // in the order of domain.Stages
	Segments []segment
	ReadyPct float64
}

type segment struct {
	Stage    domain.Stage
	N        int64
	X, W, TX float64
	// Label is set when the segment is wide enough to carry its count.
	Label bool
}

type coverageCell struct {
	Nr       int
	Name     string
	Recorded int
}

type trendData struct {
	Points []trendPoint
	Lines  []trendLine
}

type trendPoint struct {
	Label string // MM/YY
	Pct   map[domain.Dimension]float64
	X     float64
}

type trendLine struct {
	Dim     domain.Dimension
	Points  string // SVG polyline points
	Marks   []mark
	LabelY  float64
	Pattern string // stroke-dasharray, so that lines differ without colour
}

type mark struct{ X, Y float64 }

type progressView struct {
	From, To string
	Lines    []progressRow
	Changes  []report.StageChange
	More     int
}

type progressRow struct {
	Ressort   string
	Dimension domain.Dimension
	ReadyFrom int64
	CountFrom int64
	ReadyTo   int64
	CountTo   int64
	Delta     int64
}

// overviewScopes are the read scopes of the operations the overview draws on; an operation
// the caller may not run leaves its part out.
type overviewScopes struct {
	readiness, overdue, blocked, consistency, coverage, progress *domain.ReadScope
}

func (q *request) scope(op string) *domain.ReadScope {
	ok, read, _, err := q.h.cfg.Authorizer.Authorize(q.caller, op, http.MethodGet, "")
	if err != nil || !ok {
		return nil
	}
	return &read
}

func (h *Handler) overview(q *request) { h.renderOverview(q, false) }

func (h *Handler) printView(q *request) { h.renderOverview(q, true) }

func (h *Handler) renderOverview(q *request, print bool) {
	read, ok := q.allow("getReadinessReport", "")
	if !ok {
		return
	}
	sc := overviewScopes{readiness: &read, overdue: q.scope("getOverdueReport"), blocked: q.scope("getBlockedReport"),
		consistency: q.scope("getConsistencyReport"), coverage: q.scope("getAnlageCoverageReport"), progress: q.scope("getProgressReport")}
	d, err := h.overviewData(q.ctx, q.caller.User, sc, q.r.URL.Query().Get("stand"), q.r.URL.Query().Get("seit"))
	if err != nil {
		h.serverError(q.w, q.r, err)
		return
	}
	for i := range d.Rows {
		d.Rows[i].Link = q.may("listRessortRegisters", http.MethodGet, d.Rows[i].Code)
	}
	v := q.view("Übersicht", d)
	v.Print = print
	if print {
		v.Title = "Stand der Registermodernisierung"
	}
	h.render(q.w, q.r, http.StatusOK, "overview", v)
}

// monthEnds returns the ends of the 11 months before the month of at, oldest first
// (Europe/Berlin), for the trend; the twelfth point is at itself.
func monthEnds(at time.Time) []time.Time {
	local := at.In(berlin)
	first := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, berlin)
	var out []time.Time
	for i := 11; i >= 1; i-- {
		end := first.AddDate(0, -i+1, 0).Add(-time.Microsecond)
		out = append(out, end)
	}
	return out
}

// overviewData gathers every figure of the overview. The queries are independent and run at
// once, each in its own read transaction with the caller's scope.
func (h *Handler) overviewData(ctx context.Context, user string, sc overviewScopes, stand, seit string) (overviewData, error) {
	reps := h.cfg.Reports.For(user)
	now := reps.Now()
	d := overviewData{Stand: stand, Seit: seit, StandLabel: "heute, " + formatTime(now), Findings: sc.overdue != nil}
	var asOf *time.Time
	if stand != "" {
		t, err := param.Instant("stand", stand, now)
		if err != nil {
			d.Error = "„Stand am“ muss ein Datum bis heute sein, z. B. 2026-03-31."
		} else {
			asOf = &t
			if domain.Today(t) != domain.Today(now) {
				d.StandLabel = "Ende des " + formatDate(domain.Today(t))
			}
		}
	}
	at := now
	if asOf != nil {
		at = *asOf
	}
	var since *time.Time
	if seit != "" {
		t, err := param.Instant("seit", seit, now)
		switch {
		case err != nil:
			d.Error = "„Veränderung seit“ muss ein Datum bis heute sein, z. B. 2025-10-07."
		case !t.Before(at):
			d.Error = "„Veränderung seit“ muss vor „Stand am“ liegen."
		default:
			since = &t
		}
	}

	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	run := func(fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	var readiness report.Readiness
	run(func() (err error) {
		readiness, err = reps.Readiness(ctx, *sc.readiness, report.Filter{AsOf: asOf})
		return err
	})
	ends := monthEnds(at)
	trend := make([]report.Readiness, len(ends))
	for i, end := range ends {
		run(func() (err error) {
			trend[i], err = reps.Readiness(ctx, *sc.readiness, report.Filter{AsOf: &end})
			return err
		})
	}
	overdue, blocked, inconsistent := map[string]int{}, map[string]int{}, map[string]int{}
	if sc.overdue != nil {
		run(func() (err error) {
			overdue, _, err = reps.OverdueByRessort(ctx, *sc.overdue, report.Filter{AsOf: asOf})
			return err
		})
	}
	if sc.blocked != nil {
		run(func() error {
			items, _, err := reps.Blocked(ctx, *sc.blocked, report.Filter{AsOf: asOf})
			mu.Lock()
			for _, it := range items {
				blocked[it.Onlinedienst.Ressort]++
			}
			mu.Unlock()
			return err
		})
	}
	if sc.consistency != nil {
		run(func() error {
			items, _, err := reps.Consistency(ctx, *sc.consistency, report.Filter{AsOf: asOf})
			seen := map[string]bool{}
			mu.Lock()
			for _, it := range items {
				k := string(it.Kind) + "|" + it.Ressort + "|" + it.Key
				if !seen[k] {
					seen[k] = true
					inconsistent[it.Ressort]++
				}
			}
			mu.Unlock()
			return err
		})
	}
	var coverage []report.CoverageEntry
	if sc.coverage != nil {
		run(func() (err error) {
			coverage, _, err = reps.AnlageCoverage(ctx, *sc.coverage, report.Filter{AsOf: asOf})
			return err
		})
	}
	var progress report.Progress
	if since != nil && sc.progress != nil {
		run(func() (err error) {
			progress, err = reps.Progress(ctx, *sc.progress, nil, *since, at)
			return err
		})
	}
	wg.Wait()
	if firstErr != nil {
		var verr *domain.ValidationError
		if errors.As(firstErr, &verr) {
			d.Error = "Die Daten lassen sich so nicht auswerten: " + verr.Error()
			return d, nil
		}
		return d, firstErr
	}

	for _, rs := range readiness.Ressorts {
		row := ressortLine(rs)
		row.Overdue, row.Blocked, row.Inconsistent = overdue[rs.Ressort.Code], blocked[rs.Ressort.Code], inconsistent[rs.Ressort.Code]
		d.Total.Overdue += row.Overdue
		d.Total.Blocked += row.Blocked
		d.Total.Inconsistent += row.Inconsistent
		d.Rows = append(d.Rows, row)
	}
	total := ressortLine(readiness.Total)
	total.Overdue, total.Blocked, total.Inconsistent = d.Total.Overdue, d.Total.Blocked, d.Total.Inconsistent
	total.Code, total.Name = "Gesamt", "alle Ressorts, die Sie sehen dürfen"
	d.Total = total
	d.Trend = trendOf(append(trend, readiness), append(ends, at))
	for _, c := range coverage {
		d.Coverage = append(d.Coverage, coverageCell{Nr: c.Anlage.Nr, Name: c.Anlage.Name, Recorded: len(c.Registers)})
		if len(c.Registers) == 0 {
			d.Gaps++
		}
	}
	if since != nil && sc.progress != nil {
		d.Progress = progressOf(progress)
	}
	return d, nil
}

// ressortLine sums registers and Onlinedienste of one Ressort per dimension.
func ressortLine(rs report.RessortSummary) ressortRow {
	row := ressortRow{Code: rs.Ressort.Code, Name: rs.Ressort.Name, Count: rs.Registers.Count + rs.Onlinedienste.Count}
	for _, dim := range domain.Dimensions {
		b := dimBar{Dim: dim, Count: row.Count}
		var ready int64
		for _, st := range domain.Stages {
			n := rs.Registers.Dimensions[dim].Stages[st] + rs.Onlinedienste.Dimensions[dim].Stages[st]
			b.Stages = append(b.Stages, n)
			if st.Ready() {
				ready += n
			}
		}
		if row.Count > 0 {
			b.ReadyPct = float64(ready*1000/row.Count) / 10
			x := 0.0
			for i, st := range domain.Stages {
				n := b.Stages[i]
				if n == 0 {
					continue
				}
				w := barWidth * float64(n) / float64(row.Count)
				b.Segments = append(b.Segments, segment{Stage: st, N: n, X: x, W: w, TX: x + w/2, Label: w >= 16})
				x += w
			}
		}
		row.Dims = append(row.Dims, b)
	}
	return row
}

// Trend chart geometry (SVG units).
const (
	trendW, trendH         = 640.0, 220.0
	trendLeft, trendRight  = 48.0, 130.0
	trendTop, trendBottom  = 12.0, 36.0
	trendPlotW, trendPlotH = trendW - trendLeft - trendRight, trendH - trendTop - trendBottom
)

func trendOf(reports []report.Readiness, at []time.Time) *trendData {
	t := &trendData{}
	for i, r := range reports {
		p := trendPoint{Label: at[i].In(berlin).Format("01/06"), Pct: map[domain.Dimension]float64{}}
		p.X = trendLeft + trendPlotW*float64(i)/float64(len(reports)-1)
		count := r.Total.Registers.Count + r.Total.Onlinedienste.Count
		for _, dim := range domain.Dimensions {
			ready := r.Total.Registers.Dimensions[dim].Ready + r.Total.Onlinedienste.Dimensions[dim].Ready
			if count > 0 {
				p.Pct[dim] = float64(ready*1000/count) / 10
			}
		}
		t.Points = append(t.Points, p)
	}
	patterns := map[domain.Dimension]string{domain.DimensionIDNr: "", domain.DimensionNOOTS: "8 4", domain.DimensionDSC: "2 3"}
	for _, dim := range domain.Dimensions {
		l := trendLine{Dim: dim, Pattern: patterns[dim]}
		for _, p := range t.Points {
			y := trendTop + trendPlotH*(1-p.Pct[dim]/100)
			l.Points += fmt.Sprintf("%.1f,%.1f ", p.X, y)
			l.Marks = append(l.Marks, mark{X: p.X, Y: y})
		}
		l.LabelY = l.Marks[len(l.Marks)-1].Y + 4
		t.Lines = append(t.Lines, l)
	}
	// The labels at the lines' ends, at least 14 units apart, so that none hides another.
	order := []int{0, 1, 2}
	sort.Slice(order, func(i, j int) bool { return t.Lines[order[i]].LabelY < t.Lines[order[j]].LabelY })
	for k := 1; k < len(order); k++ {
		prev, cur := &t.Lines[order[k-1]], &t.Lines[order[k]]
		if cur.LabelY < prev.LabelY+14 {
			cur.LabelY = prev.LabelY + 14
		}
	}
	if last := &t.Lines[order[len(order)-1]]; last.LabelY > trendH-4 {
		shift := last.LabelY - (trendH - 4)
		for i := range t.Lines {
			t.Lines[i].LabelY -= shift
		}
	}
	return t
}

func progressOf(p report.Progress) *progressView {
	v := &progressView{From: formatTime(p.From), To: formatTime(p.To)}
	sum := map[string]*progressRow{}
	var keys []string
	for _, l := range p.Lines {
		k := l.Ressort + "|" + string(l.Dimension)
		r := sum[k]
		if r == nil {
			r = &progressRow{Ressort: l.Ressort, Dimension: l.Dimension}
			sum[k] = r
			keys = append(keys, k)
		}
		r.ReadyFrom += l.ReadyFrom
		r.CountFrom += l.CountFrom
		r.ReadyTo += l.ReadyTo
		r.CountTo += l.CountTo
		r.Delta = r.ReadyTo - r.ReadyFrom
	}
	for _, k := range keys {
		v.Lines = append(v.Lines, *sum[k])
	}
	changes := append([]report.StageChange{}, p.Changes...)
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].At.After(changes[j].At) })
	if len(changes) > 100 {
		v.More = len(changes) - 100
		changes = changes[:100]
	}
	v.Changes = changes
	return v
}
