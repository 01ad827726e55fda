package api

import (
	"context"
	"time"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
)

func (h *handler) GetOnlinedienst(ctx context.Context, req oapi.GetOnlinedienstRequestObject) (oapi.GetOnlinedienstResponseObject, error) {
	at, err := h.inventory.AsOf(req.Params.AsOf)
	if err != nil {
		return nil, err
	}
	e, err := h.inventory.Lookup(ctx, readScope(ctx), domain.KindOnlinedienst, req.Code, req.Key, at)
	if err != nil {
		return nil, err
	}
	return oapi.GetOnlinedienst200JSONResponse{Body: toOnlinedienst(e, h.inventory.TodayAt(at)), Headers: oapi.GetOnlinedienst200ResponseHeaders{ETag: etag(e.Version)}}, nil
}

func (h *handler) PutOnlinedienst(ctx context.Context, req oapi.PutOnlinedienstRequestObject) (oapi.PutOnlinedienstResponseObject, error) {
	pre, err := precondition(req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	e, created, err := h.inventory.Put(ctx, actor(ctx), writeScope(ctx), domain.KindOnlinedienst, req.Code, req.Key, onlinedienstContent(*req.Body), pre)
	if err != nil {
		return nil, err
	}
	body, tag := toOnlinedienst(e, h.inventory.Today()), etag(e.Version)
	if created {
		return oapi.PutOnlinedienst201JSONResponse{Body: body, Headers: oapi.PutOnlinedienst201ResponseHeaders{ETag: tag}}, nil
	}
	return oapi.PutOnlinedienst200JSONResponse{Body: body, Headers: oapi.PutOnlinedienst200ResponseHeaders{ETag: tag}}, nil
}

func (h *handler) PatchOnlinedienst(ctx context.Context, req oapi.PatchOnlinedienstRequestObject) (oapi.PatchOnlinedienstResponseObject, error) {
	pre, err := precondition(req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	e, err := h.inventory.Patch(ctx, actor(ctx), writeScope(ctx), domain.KindOnlinedienst, req.Code, req.Key, *req.Body, pre)
	if err != nil {
		return nil, err
	}
	return oapi.PatchOnlinedienst200JSONResponse{Body: toOnlinedienst(e, h.inventory.Today()), Headers: oapi.PatchOnlinedienst200ResponseHeaders{ETag: etag(e.Version)}}, nil
}

func (h *handler) DeleteOnlinedienst(ctx context.Context, req oapi.DeleteOnlinedienstRequestObject) (oapi.DeleteOnlinedienstResponseObject, error) {
	pre, err := precondition(req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	if err := h.inventory.Delete(ctx, actor(ctx), writeScope(ctx), domain.KindOnlinedienst, req.Code, req.Key, pre); err != nil {
		return nil, err
	}
	return oapi.DeleteOnlinedienst204Response{}, nil
}

func (h *handler) ListOnlinedienste(ctx context.Context, req oapi.ListOnlinediensteRequestObject) (oapi.ListOnlinediensteResponseObject, error) {
	p := req.Params
	at, err := h.inventory.AsOf(p.AsOf)
	if err != nil {
		return nil, err
	}
	page, err := h.inventory.List(ctx, readScope(ctx), domain.Filter{AsOf: at,
		Kind: domain.KindOnlinedienst, Ressorts: deref(p.Ressort), Stages: stages(p.StageIdnr, p.StageNoots, p.StageDsc),
		Overdue: p.Overdue, Q: deref(p.Q), Limit: deref(p.Limit), Cursor: deref(p.Cursor),
	})
	if err != nil {
		return nil, err
	}
	return oapi.ListOnlinedienste200JSONResponse(h.onlinedienstList(page, at)), nil
}

func (h *handler) ListRessortOnlinedienste(ctx context.Context, req oapi.ListRessortOnlinediensteRequestObject) (oapi.ListRessortOnlinediensteResponseObject, error) {
	p := req.Params
	at, err := h.inventory.AsOf(p.AsOf)
	if err != nil {
		return nil, err
	}
	page, err := h.inventory.List(ctx, readScope(ctx), domain.Filter{AsOf: at,
		Kind: domain.KindOnlinedienst, Ressort: req.Code, Stages: stages(p.StageIdnr, p.StageNoots, p.StageDsc),
		Overdue: p.Overdue, Q: deref(p.Q), Limit: deref(p.Limit), Cursor: deref(p.Cursor),
	})
	if err != nil {
		return nil, err
	}
	return oapi.ListRessortOnlinedienste200JSONResponse(h.onlinedienstList(page, at)), nil
}

func (h *handler) onlinedienstList(page domain.Page, at *time.Time) oapi.OnlinedienstList {
	today := h.inventory.TodayAt(at)
	items := make([]oapi.Onlinedienst, len(page.Entries))
	for i, e := range page.Entries {
		items[i] = toOnlinedienst(e, today)
	}
	return oapi.OnlinedienstList{Items: items, NextCursor: nextCursor(page.Next)}
}
