package api

import (
	"context"
	"time"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
)

func (h *handler) GetRegister(ctx context.Context, req oapi.GetRegisterRequestObject) (oapi.GetRegisterResponseObject, error) {
	at, err := h.inventory.AsOf(req.Params.AsOf)
	if err != nil {
		return nil, err
	}
	e, err := h.inventory.Lookup(ctx, readScope(ctx), domain.KindRegister, req.Code, req.Key, at)
	if err != nil {
		return nil, err
	}
	return oapi.GetRegister200JSONResponse{Body: toRegister(e, h.inventory.TodayAt(at)), Headers: oapi.GetRegister200ResponseHeaders{ETag: etag(e.Version)}}, nil
}

func (h *handler) PutRegister(ctx context.Context, req oapi.PutRegisterRequestObject) (oapi.PutRegisterResponseObject, error) {
	pre, err := precondition(req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	e, created, err := h.inventory.Put(ctx, actor(ctx), writeScope(ctx), domain.KindRegister, req.Code, req.Key, registerContent(*req.Body), pre)
	if err != nil {
		return nil, err
	}
	body, tag := toRegister(e, h.inventory.Today()), etag(e.Version)
	if created {
		return oapi.PutRegister201JSONResponse{Body: body, Headers: oapi.PutRegister201ResponseHeaders{ETag: tag}}, nil
	}
	return oapi.PutRegister200JSONResponse{Body: body, Headers: oapi.PutRegister200ResponseHeaders{ETag: tag}}, nil
}

func (h *handler) PatchRegister(ctx context.Context, req oapi.PatchRegisterRequestObject) (oapi.PatchRegisterResponseObject, error) {
	pre, err := precondition(req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	e, err := h.inventory.Patch(ctx, actor(ctx), writeScope(ctx), domain.KindRegister, req.Code, req.Key, *req.Body, pre)
	if err != nil {
		return nil, err
	}
	return oapi.PatchRegister200JSONResponse{Body: toRegister(e, h.inventory.Today()), Headers: oapi.PatchRegister200ResponseHeaders{ETag: etag(e.Version)}}, nil
}

func (h *handler) DeleteRegister(ctx context.Context, req oapi.DeleteRegisterRequestObject) (oapi.DeleteRegisterResponseObject, error) {
	pre, err := precondition(req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	if err := h.inventory.Delete(ctx, actor(ctx), writeScope(ctx), domain.KindRegister, req.Code, req.Key, pre); err != nil {
		return nil, err
	}
	return oapi.DeleteRegister204Response{}, nil
}

func (h *handler) ListRegisters(ctx context.Context, req oapi.ListRegistersRequestObject) (oapi.ListRegistersResponseObject, error) {
	p := req.Params
	at, err := h.inventory.AsOf(p.AsOf)
	if err != nil {
		return nil, err
	}
	page, err := h.inventory.List(ctx, readScope(ctx), domain.Filter{AsOf: at,
		Kind: domain.KindRegister, Ressorts: deref(p.Ressort), Stages: stages(p.StageIdnr, p.StageNoots, p.StageDsc),
		Overdue: p.Overdue, Q: deref(p.Q), Limit: deref(p.Limit), Cursor: deref(p.Cursor),
	})
	if err != nil {
		return nil, err
	}
	return oapi.ListRegisters200JSONResponse(h.registerList(page, at)), nil
}

func (h *handler) ListRessortRegisters(ctx context.Context, req oapi.ListRessortRegistersRequestObject) (oapi.ListRessortRegistersResponseObject, error) {
	p := req.Params
	at, err := h.inventory.AsOf(p.AsOf)
	if err != nil {
		return nil, err
	}
	page, err := h.inventory.List(ctx, readScope(ctx), domain.Filter{AsOf: at,
		Kind: domain.KindRegister, Ressort: req.Code, Stages: stages(p.StageIdnr, p.StageNoots, p.StageDsc),
		Overdue: p.Overdue, Q: deref(p.Q), Limit: deref(p.Limit), Cursor: deref(p.Cursor),
	})
	if err != nil {
		return nil, err
	}
	return oapi.ListRessortRegisters200JSONResponse(h.registerList(page, at)), nil
}

func (h *handler) registerList(page domain.Page, at *time.Time) oapi.RegisterList {
	today := h.inventory.TodayAt(at)
	items := make([]oapi.Register, len(page.Entries))
	for i, e := range page.Entries {
		items[i] = toRegister(e, today)
	}
	return oapi.RegisterList{Items: items, NextCursor: nextCursor(page.Next)}
}
