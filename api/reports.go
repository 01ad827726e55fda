package api

import (
	"bytes"
	"context"
	"time"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
)

func toKindSummary(k domain.KindSummary) oapi.KindSummary {
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

func (h *handler) GetReadinessReport(ctx context.Context, req oapi.GetReadinessReportRequestObject) (oapi.GetReadinessReportResponseObject, error) {
	p := req.Params
	at, err := h.inventory.AsOf(p.AsOf)
	if err != nil {
		return nil, err
	}
	f := domain.ReportFilter{AsOf: at, Ressorts: deref(p.Ressort)}
	switch deref(p.Kind) {
	case oapi.Registers:
		f.Kind = domain.KindRegister
	case oapi.Onlinedienste:
		f.Kind = domain.KindOnlinedienst
	}
	r, err := h.inventory.Readiness(ctx, scope(ctx), f)
	if err != nil {
		return nil, err
	}
	if wantsCSV(ctx, (*string)(p.Format)) {
		data, err := readinessCSV(r)
		if err != nil {
			return nil, err
		}
		return oapi.GetReadinessReport200TextcsvResponse{Body: bytes.NewReader(data), ContentLength: int64(len(data)),
			Headers: oapi.GetReadinessReport200ResponseHeaders{ContentDisposition: attachment("readiness", r.AsOf, "csv")}}, nil
	}
	body := oapi.ReadinessReport{AsOf: r.AsOf, GeneratedAt: r.GeneratedAt,
		Ressorts: make([]oapi.RessortReadiness, len(r.Ressorts))}
	for i, rs := range r.Ressorts {
		body.Ressorts[i] = oapi.RessortReadiness{Ressort: rs.Ressort.Code, Name: rs.Ressort.Name,
			Registers: toKindSummary(rs.Registers), Onlinedienste: toKindSummary(rs.Onlinedienste)}
	}
	body.Total.Registers = toKindSummary(r.Total.Registers)
	body.Total.Onlinedienste = toKindSummary(r.Total.Onlinedienste)
	return oapi.GetReadinessReport200JSONResponse{Body: body}, nil
}

func reportFilter(asOf *time.Time, ressorts *[]string) domain.ReportFilter {
	return domain.ReportFilter{AsOf: asOf, Ressorts: deref(ressorts)}
}

func (h *handler) GetOverdueReport(ctx context.Context, req oapi.GetOverdueReportRequestObject) (oapi.GetOverdueReportResponseObject, error) {
	at, err := h.inventory.AsOf(req.Params.AsOf)
	if err != nil {
		return nil, err
	}
	items, when, err := h.inventory.Overdue(ctx, scope(ctx), reportFilter(at, req.Params.Ressort))
	if err != nil {
		return nil, err
	}
	out := oapi.GetOverdueReport200JSONResponse{AsOf: when.UTC(), GeneratedAt: h.inventory.Now().UTC(), Items: make([]oapi.OverdueItem, len(items))}
	for i, it := range items {
		out.Items[i] = oapi.OverdueItem{Ressort: it.Ressort, Key: it.Key, Name: it.Name, Kind: oapi.OverdueItemKind(it.Kind),
			Dimension: oapi.OverdueItemDimension(it.Dimension), Stage: oapi.Stage(it.Stage), TargetDate: it.TargetDate, DaysOverdue: it.DaysOverdue}
	}
	return out, nil
}

func (h *handler) GetConsistencyReport(ctx context.Context, req oapi.GetConsistencyReportRequestObject) (oapi.GetConsistencyReportResponseObject, error) {
	at, err := h.inventory.AsOf(req.Params.AsOf)
	if err != nil {
		return nil, err
	}
	findings, when, err := h.inventory.Consistency(ctx, scope(ctx), reportFilter(at, req.Params.Ressort))
	if err != nil {
		return nil, err
	}
	out := oapi.GetConsistencyReport200JSONResponse{AsOf: when.UTC(), GeneratedAt: h.inventory.Now().UTC(), Findings: make([]oapi.Finding, len(findings))}
	for i, f := range findings {
		out.Findings[i] = oapi.Finding{Rule: f.Rule, Ressort: f.Ressort, Key: f.Key, Name: f.Name, Kind: oapi.FindingKind(f.Kind), Detail: f.Detail}
	}
	return out, nil
}

func (h *handler) GetAnlageCoverageReport(ctx context.Context, req oapi.GetAnlageCoverageReportRequestObject) (oapi.GetAnlageCoverageReportResponseObject, error) {
	at, err := h.inventory.AsOf(req.Params.AsOf)
	if err != nil {
		return nil, err
	}
	coverage, when, err := h.inventory.AnlageCoverage(ctx, scope(ctx), reportFilter(at, req.Params.Ressort))
	if err != nil {
		return nil, err
	}
	out := oapi.GetAnlageCoverageReport200JSONResponse{AsOf: when.UTC(), GeneratedAt: h.inventory.Now().UTC(), Items: make([]oapi.CoverageItem, len(coverage))}
	for i, c := range coverage {
		regs := make([]oapi.RegisterStages, len(c.Registers))
		for j, e := range c.Registers {
			regs[j] = oapi.RegisterStages{Ressort: e.Ressort, Key: e.Key, Name: e.Name, Idnr: oapi.Stage(e.Readiness.IDNr.Stage),
				Noots: oapi.Stage(e.Readiness.NOOTS.Stage), Dsc: oapi.Stage(e.Readiness.DSC.Stage)}
		}
		out.Items[i] = oapi.CoverageItem{Nr: c.Anlage.Nr, Name: c.Anlage.Name, Gap: len(regs) == 0, Registers: regs}
	}
	return out, nil
}

func (h *handler) GetBlockedReport(ctx context.Context, req oapi.GetBlockedReportRequestObject) (oapi.GetBlockedReportResponseObject, error) {
	at, err := h.inventory.AsOf(req.Params.AsOf)
	if err != nil {
		return nil, err
	}
	blocked, when, err := h.inventory.Blocked(ctx, scope(ctx), reportFilter(at, req.Params.Ressort))
	if err != nil {
		return nil, err
	}
	out := oapi.GetBlockedReport200JSONResponse{AsOf: when.UTC(), GeneratedAt: h.inventory.Now().UTC(), Items: make([]oapi.BlockedItem, len(blocked))}
	for i, b := range blocked {
		by := make([]oapi.Blocker, len(b.Blockers))
		for j, r := range b.Blockers {
			by[j] = oapi.Blocker{Ressort: r.Ressort, Key: r.Key, Name: r.Name, NootsStage: oapi.Stage(r.NOOTSStage)}
		}
		out.Items[i] = oapi.BlockedItem{Ressort: b.Onlinedienst.Ressort, Key: b.Onlinedienst.Key, Name: b.Onlinedienst.Name, BlockedBy: by}
	}
	return out, nil
}

func (h *handler) GetProgressReport(ctx context.Context, req oapi.GetProgressReportRequestObject) (oapi.GetProgressReportResponseObject, error) {
	now := h.inventory.Now()
	from, err := domain.ParseInstant("from", req.Params.From, now)
	if err != nil {
		return nil, err
	}
	to := now
	if req.Params.To != nil {
		if to, err = domain.ParseInstant("to", *req.Params.To, now); err != nil {
			return nil, err
		}
	}
	p, err := h.inventory.Progress(ctx, scope(ctx), deref(req.Params.Ressort), from, to)
	if err != nil {
		return nil, err
	}
	out := oapi.GetProgressReport200JSONResponse{From: p.From, To: p.To, GeneratedAt: now.UTC(),
		Ready: make([]oapi.ProgressLine, len(p.Lines)), Changes: make([]oapi.StageChange, len(p.Changes))}
	for i, l := range p.Lines {
		out.Ready[i] = oapi.ProgressLine{Ressort: l.Ressort, Kind: oapi.ProgressLineKind(l.Kind), Dimension: oapi.ProgressLineDimension(l.Dimension),
			CountFrom: l.CountFrom, ReadyFrom: l.ReadyFrom, CountTo: l.CountTo, ReadyTo: l.ReadyTo}
	}
	for i, c := range p.Changes {
		out.Changes[i] = oapi.StageChange{Ressort: c.Ressort, Key: c.Key, Name: c.Name, Kind: oapi.StageChangeKind(c.Kind),
			Dimension: oapi.StageChangeDimension(c.Dimension), From: c.From, To: c.To, At: c.At.UTC(), Actor: c.Actor}
	}
	return out, nil
}
