package api

import (
	"bytes"
	"context"

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
