package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/api/param"
	"github.com/bremen/regmo/api/render"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/report"
)

// reportFile is a report rendered as CSV or as a workbook. It answers every report operation
// (the six Visit methods below), so that each of them hands over its file in one line.
type reportFile struct {
	contentType string
	data        []byte
	disposition *string // Content-Disposition
}

func (f reportFile) write(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	w.Header().Set("Content-Disposition", *f.disposition)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(f.data)
	return err
}

// VisitGetReadinessReportResponse writes the file (oapi.GetReadinessReportResponseObject).
func (f reportFile) VisitGetReadinessReportResponse(w http.ResponseWriter) error { return f.write(w) }

// VisitGetOverdueReportResponse writes the file (oapi.GetOverdueReportResponseObject).
func (f reportFile) VisitGetOverdueReportResponse(w http.ResponseWriter) error { return f.write(w) }

// VisitGetConsistencyReportResponse writes the file (oapi.GetConsistencyReportResponseObject).
func (f reportFile) VisitGetConsistencyReportResponse(w http.ResponseWriter) error { return f.write(w) }

// VisitGetAnlageCoverageReportResponse writes the file (oapi.GetAnlageCoverageReportResponseObject).
func (f reportFile) VisitGetAnlageCoverageReportResponse(w http.ResponseWriter) error {
	return f.write(w)
}

// VisitGetBlockedReportResponse writes the file (oapi.GetBlockedReportResponseObject).
func (f reportFile) VisitGetBlockedReportResponse(w http.ResponseWriter) error { return f.write(w) }

// VisitGetProgressReportResponse writes the file (oapi.GetProgressReportResponseObject).
func (f reportFile) VisitGetProgressReportResponse(w http.ResponseWriter) error { return f.write(w) }

// The media types of the contract's report downloads.
const (
	mediaCSV  = "text/csv"
	mediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// renderReport turns a report into CSV or a workbook when the client asked for one; ok is
// false for JSON. tables is called only then.
func renderReport(ctx context.Context, format, dialect *string, name string, at time.Time, tables func() []render.Table) (reportFile, bool, error) {
	csv, d, err := csvDialect(ctx, format, dialect)
	if err != nil {
		return reportFile{}, false, err
	}
	f := "json"
	if csv {
		f = "csv"
	} else if format != nil {
		f = *format
	}
	file := reportFile{disposition: attachment(name, at, f)}
	switch f {
	case "csv":
		file.contentType = mediaCSV
		file.data, err = render.DialectCSV(tables()[0], d)
	case "xlsx":
		file.contentType = mediaXLSX
		file.data, err = render.XLSX(tables())
	default:
		return reportFile{}, false, nil
	}
	if err != nil {
		return reportFile{}, false, err
	}
	return file, true, nil
}

func toKindSummary(k report.KindSummary) oapi.KindSummary {
	dim := func(d domain.Dimension) oapi.DimensionSummary {
		ds := k.Dimensions[d]
		out := oapi.DimensionSummary{Ready: ds.Ready, ReadyPct: ds.ReadyPct, Overdue: ds.Overdue}
		out.Stages.NotStarted = ds.Stages[domain.StageNotStarted]
		out.Stages.Planned = ds.Stages[domain.StagePlanned]
		out.Stages.InProgress = ds.Stages[domain.StageInProgress]
		out.Stages.Testing = ds.Stages[domain.StageTesting]
		out.Stages.Live = ds.Stages[domain.StageLive]
		out.Stages.NotApplicable = ds.Stages[domain.StageNotApplicable]
		return out
	}
	out := oapi.KindSummary{Count: k.Count, FullyReady: k.FullyReady}
	out.Dimensions.Idnr = dim(domain.DimensionIDNr)
	out.Dimensions.Noots = dim(domain.DimensionNOOTS)
	out.Dimensions.Dsc = dim(domain.DimensionDSC)
	return out
}

func reportFilter(asOf *time.Time, ressorts *[]string) report.Filter {
	return report.Filter{AsOf: asOf, Ressorts: deref(ressorts)}
}

func (h *handler) GetReadinessReport(ctx context.Context, req oapi.GetReadinessReportRequestObject) (oapi.GetReadinessReportResponseObject, error) {
	p := req.Params
	at, err := param.AsOf(p.AsOf, h.reports.Now())
	if err != nil {
		return nil, err
	}
	f := reportFilter(at, p.Ressort)
	switch deref(p.Kind) {
	case oapi.GetReadinessReportParamsKindRegisters:
		f.Kind = domain.KindRegister
	case oapi.GetReadinessReportParamsKindOnlinedienste:
		f.Kind = domain.KindOnlinedienst
	}
	r, err := h.reports.For(actor(ctx)).Readiness(ctx, readScope(ctx), f)
	if err != nil {
		return nil, err
	}
	if file, ok, err := renderReport(ctx, (*string)(p.Format), (*string)(p.Dialect), "readiness", r.AsOf, func() []render.Table { return render.Readiness(r) }); ok || err != nil {
		return file, err
	}
	body := oapi.ReadinessReport{AsOf: r.AsOf, GeneratedAt: r.GeneratedAt, Ressorts: make([]oapi.RessortReadiness, len(r.Ressorts))}
	for i, rs := range r.Ressorts {
		body.Ressorts[i] = oapi.RessortReadiness{Ressort: rs.Ressort.Code, Name: rs.Ressort.Name,
			Registers: toKindSummary(rs.Registers), Onlinedienste: toKindSummary(rs.Onlinedienste)}
	}
	body.Total.Registers = toKindSummary(r.Total.Registers)
	body.Total.Onlinedienste = toKindSummary(r.Total.Onlinedienste)
	return oapi.GetReadinessReport200JSONResponse{Body: body}, nil
}

// findingsReport answers a report read as of an instant over some Ressorts: it parses the
// parameters, reads with read in the caller's scope, and answers the file the client asked
// for or the JSON body toJSON makes. R is the operation's response type; reportFile is one.
func findingsReport[T any, R any](ctx context.Context, h *handler, asOf *string, ressorts *[]string, format, dialect *string, name string,
	read func(context.Context, domain.ReadScope, report.Filter) (T, time.Time, error),
	tables func(T) []render.Table, toJSON func(T, time.Time) R) (R, error) {
	var none R
	at, err := param.AsOf(asOf, h.reports.Now())
	if err != nil {
		return none, err
	}
	found, when, err := read(ctx, readScope(ctx), reportFilter(at, ressorts))
	if err != nil {
		return none, err
	}
	file, ok, err := renderReport(ctx, format, dialect, name, when, func() []render.Table { return tables(found) })
	if err != nil || !ok {
		return toJSON(found, when), err
	}
	answer, isAnswer := any(file).(R)
	if !isAnswer {
		return none, fmt.Errorf("api: report %s cannot answer a file", name)
	}
	return answer, nil
}

func (h *handler) GetOverdueReport(ctx context.Context, req oapi.GetOverdueReportRequestObject) (oapi.GetOverdueReportResponseObject, error) {
	p := req.Params
	return findingsReport(ctx, h, p.AsOf, p.Ressort, (*string)(p.Format), (*string)(p.Dialect), "overdue", h.reports.For(actor(ctx)).Overdue, render.Overdue,
		func(items []report.OverdueItem, when time.Time) oapi.GetOverdueReportResponseObject {
			body := oapi.OverdueReport{AsOf: when.UTC(), GeneratedAt: h.reports.Now().UTC(), Items: make([]oapi.OverdueItem, len(items))}
			for i, it := range items {
				body.Items[i] = oapi.OverdueItem{Ressort: it.Ressort, Key: it.Key, Name: it.Name, Kind: oapi.OverdueItemKind(it.Kind),
					Dimension: oapi.OverdueItemDimension(it.Dimension), Stage: oapi.Stage(it.Stage), TargetDate: it.TargetDate, DaysOverdue: it.DaysOverdue}
			}
			return oapi.GetOverdueReport200JSONResponse{Body: body}
		})
}

func (h *handler) GetConsistencyReport(ctx context.Context, req oapi.GetConsistencyReportRequestObject) (oapi.GetConsistencyReportResponseObject, error) {
	p := req.Params
	return findingsReport(ctx, h, p.AsOf, p.Ressort, (*string)(p.Format), (*string)(p.Dialect), "consistency", h.reports.For(actor(ctx)).Consistency, render.Consistency,
		func(findings []report.Finding, when time.Time) oapi.GetConsistencyReportResponseObject {
			body := oapi.ConsistencyReport{AsOf: when.UTC(), GeneratedAt: h.reports.Now().UTC(), Findings: make([]oapi.Finding, len(findings))}
			for i, f := range findings {
				body.Findings[i] = oapi.Finding{Rule: f.Rule, Ressort: f.Ressort, Key: f.Key, Name: f.Name, Kind: oapi.FindingKind(f.Kind), Detail: f.Detail}
			}
			return oapi.GetConsistencyReport200JSONResponse{Body: body}
		})
}

func (h *handler) GetAnlageCoverageReport(ctx context.Context, req oapi.GetAnlageCoverageReportRequestObject) (oapi.GetAnlageCoverageReportResponseObject, error) {
	p := req.Params
	return findingsReport(ctx, h, p.AsOf, p.Ressort, (*string)(p.Format), (*string)(p.Dialect), "anlage-coverage", h.reports.For(actor(ctx)).AnlageCoverage, render.AnlageCoverage,
		func(coverage []report.CoverageEntry, when time.Time) oapi.GetAnlageCoverageReportResponseObject {
			body := oapi.AnlageCoverageReport{AsOf: when.UTC(), GeneratedAt: h.reports.Now().UTC(), Items: make([]oapi.CoverageItem, len(coverage))}
			for i, c := range coverage {
				regs := make([]oapi.RegisterStages, len(c.Registers))
				for j, e := range c.Registers {
					regs[j] = oapi.RegisterStages{Ressort: e.Ressort, Key: e.Key, Name: e.Name, Idnr: oapi.Stage(e.Readiness.IDNr.Stage),
						Noots: oapi.Stage(e.Readiness.NOOTS.Stage), Dsc: oapi.Stage(e.Readiness.DSC.Stage)}
				}
				body.Items[i] = oapi.CoverageItem{Nr: c.Anlage.Nr, Name: c.Anlage.Name, Gap: len(regs) == 0, Registers: regs}
			}
			return oapi.GetAnlageCoverageReport200JSONResponse{Body: body}
		})
}

func (h *handler) GetBlockedReport(ctx context.Context, req oapi.GetBlockedReportRequestObject) (oapi.GetBlockedReportResponseObject, error) {
	p := req.Params
	return findingsReport(ctx, h, p.AsOf, p.Ressort, (*string)(p.Format), (*string)(p.Dialect), "blocked", h.reports.For(actor(ctx)).Blocked, render.Blocked,
		func(blocked []report.Blocked, when time.Time) oapi.GetBlockedReportResponseObject {
			body := oapi.BlockedReport{AsOf: when.UTC(), GeneratedAt: h.reports.Now().UTC(), Items: make([]oapi.BlockedItem, len(blocked))}
			for i, b := range blocked {
				by := make([]oapi.Blocker, len(b.Blockers))
				for j, r := range b.Blockers {
					by[j] = oapi.Blocker{Ressort: r.Ressort, Key: r.Key, Name: r.Name, NootsStage: oapi.Stage(r.NOOTSStage)}
				}
				body.Items[i] = oapi.BlockedItem{Ressort: b.Onlinedienst.Ressort, Key: b.Onlinedienst.Key, Name: b.Onlinedienst.Name, BlockedBy: by}
			}
			return oapi.GetBlockedReport200JSONResponse{Body: body}
		})
}

func (h *handler) GetProgressReport(ctx context.Context, req oapi.GetProgressReportRequestObject) (oapi.GetProgressReportResponseObject, error) {
	now := h.reports.Now()
	from, err := param.Instant("from", req.Params.From, now)
	if err != nil {
		return nil, err
	}
	to := now
	if req.Params.To != nil {
		if to, err = param.Instant("to", *req.Params.To, now); err != nil {
			return nil, err
		}
	}
	p, err := h.reports.For(actor(ctx)).Progress(ctx, readScope(ctx), deref(req.Params.Ressort), from, to)
	if err != nil {
		return nil, err
	}
	body := oapi.ProgressReport{From: p.From, To: p.To, GeneratedAt: now.UTC(),
		Ready: make([]oapi.ProgressLine, len(p.Lines)), Changes: make([]oapi.StageChange, len(p.Changes))}
	for i, l := range p.Lines {
		body.Ready[i] = oapi.ProgressLine{Ressort: l.Ressort, Kind: oapi.ProgressLineKind(l.Kind), Dimension: oapi.ProgressLineDimension(l.Dimension),
			CountFrom: l.CountFrom, ReadyFrom: l.ReadyFrom, CountTo: l.CountTo, ReadyTo: l.ReadyTo}
	}
	for i, c := range p.Changes {
		body.Changes[i] = oapi.StageChange{Ressort: c.Ressort, Key: c.Key, Name: c.Name, Kind: oapi.StageChangeKind(c.Kind),
			Dimension: oapi.StageChangeDimension(c.Dimension), From: c.From, To: c.To, At: c.At.UTC(), Actor: c.Actor}
	}
	if file, ok, err := renderReport(ctx, (*string)(req.Params.Format), (*string)(req.Params.Dialect), "progress", to, func() []render.Table { return render.Progress(p) }); ok || err != nil {
		return file, err
	}
	return oapi.GetProgressReport200JSONResponse{Body: body}, nil
}
