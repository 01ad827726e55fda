package api

import (
	"context"
	"time"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/api/param"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
)

// The operations on registers and Onlinedienste are the same but for the kind and the shape
// of the body: each generated method below only converts its own types and calls one of the
// shared steps after it.

func (h *handler) GetRegister(ctx context.Context, req oapi.GetRegisterRequestObject) (oapi.GetRegisterResponseObject, error) {
	e, today, err := h.lookup(ctx, domain.KindRegister, req.Code, req.Key, req.Params.AsOf)
	if err != nil {
		return nil, err
	}
	return registerAnswer{Body: toRegister(e, today), Headers: oapi.GetRegister200ResponseHeaders{ETag: etag(e.Version)}}, nil
}

func (h *handler) GetOnlinedienst(ctx context.Context, req oapi.GetOnlinedienstRequestObject) (oapi.GetOnlinedienstResponseObject, error) {
	e, today, err := h.lookup(ctx, domain.KindOnlinedienst, req.Code, req.Key, req.Params.AsOf)
	if err != nil {
		return nil, err
	}
	return oapi.GetOnlinedienst200JSONResponse{Body: toOnlinedienst(e, today), Headers: oapi.GetOnlinedienst200ResponseHeaders{ETag: etag(e.Version)}}, nil
}

func (h *handler) PutRegister(ctx context.Context, req oapi.PutRegisterRequestObject) (oapi.PutRegisterResponseObject, error) {
	e, created, err := h.put(ctx, domain.KindRegister, req.Code, req.Key, *req.Body, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	body, tag := toRegister(e, h.inventory.Today()), etag(e.Version)
	if created {
		return oapi.PutRegister201JSONResponse{Body: body, Headers: oapi.PutRegister201ResponseHeaders{ETag: tag}}, nil
	}
	return oapi.PutRegister200JSONResponse{Body: body, Headers: oapi.PutRegister200ResponseHeaders{ETag: tag}}, nil
}

func (h *handler) PutOnlinedienst(ctx context.Context, req oapi.PutOnlinedienstRequestObject) (oapi.PutOnlinedienstResponseObject, error) {
	e, created, err := h.put(ctx, domain.KindOnlinedienst, req.Code, req.Key, *req.Body, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	body, tag := toOnlinedienst(e, h.inventory.Today()), etag(e.Version)
	if created {
		return oapi.PutOnlinedienst201JSONResponse{Body: body, Headers: oapi.PutOnlinedienst201ResponseHeaders{ETag: tag}}, nil
	}
	return oapi.PutOnlinedienst200JSONResponse{Body: body, Headers: oapi.PutOnlinedienst200ResponseHeaders{ETag: tag}}, nil
}

func (h *handler) PatchRegister(ctx context.Context, req oapi.PatchRegisterRequestObject) (oapi.PatchRegisterResponseObject, error) {
	e, err := h.patch(ctx, domain.KindRegister, req.Code, req.Key, *req.Body, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	return oapi.PatchRegister200JSONResponse{Body: toRegister(e, h.inventory.Today()), Headers: oapi.PatchRegister200ResponseHeaders{ETag: etag(e.Version)}}, nil
}

func (h *handler) PatchOnlinedienst(ctx context.Context, req oapi.PatchOnlinedienstRequestObject) (oapi.PatchOnlinedienstResponseObject, error) {
	e, err := h.patch(ctx, domain.KindOnlinedienst, req.Code, req.Key, *req.Body, req.Params.IfMatch)
	if err != nil {
		return nil, err
	}
	return oapi.PatchOnlinedienst200JSONResponse{Body: toOnlinedienst(e, h.inventory.Today()), Headers: oapi.PatchOnlinedienst200ResponseHeaders{ETag: etag(e.Version)}}, nil
}

func (h *handler) DeleteRegister(ctx context.Context, req oapi.DeleteRegisterRequestObject) (oapi.DeleteRegisterResponseObject, error) {
	return oapi.DeleteRegister204Response{}, h.delete(ctx, domain.KindRegister, req.Code, req.Key, req.Params.IfMatch)
}

func (h *handler) DeleteOnlinedienst(ctx context.Context, req oapi.DeleteOnlinedienstRequestObject) (oapi.DeleteOnlinedienstResponseObject, error) {
	return oapi.DeleteOnlinedienst204Response{}, h.delete(ctx, domain.KindOnlinedienst, req.Code, req.Key, req.Params.IfMatch)
}

func (h *handler) ListRegisters(ctx context.Context, req oapi.ListRegistersRequestObject) (oapi.ListRegistersResponseObject, error) {
	page, today, err := h.list(ctx, domain.KindRegister, "", req.Params)
	return oapi.ListRegisters200JSONResponse(registerList(page, today)), err
}

func (h *handler) ListOnlinedienste(ctx context.Context, req oapi.ListOnlinediensteRequestObject) (oapi.ListOnlinediensteResponseObject, error) {
	page, today, err := h.list(ctx, domain.KindOnlinedienst, "", oapi.ListRegistersParams(req.Params))
	return oapi.ListOnlinedienste200JSONResponse(onlinedienstList(page, today)), err
}

func (h *handler) ListRessortRegisters(ctx context.Context, req oapi.ListRessortRegistersRequestObject) (oapi.ListRessortRegistersResponseObject, error) {
	page, today, err := h.list(ctx, domain.KindRegister, req.Code, ressortList(req.Params))
	return oapi.ListRessortRegisters200JSONResponse(registerList(page, today)), err
}

func (h *handler) ListRessortOnlinedienste(ctx context.Context, req oapi.ListRessortOnlinediensteRequestObject) (oapi.ListRessortOnlinediensteResponseObject, error) {
	page, today, err := h.list(ctx, domain.KindOnlinedienst, req.Code, ressortList(oapi.ListRessortRegistersParams(req.Params)))
	return oapi.ListRessortOnlinedienste200JSONResponse(onlinedienstList(page, today)), err
}

// lookup reads an entry now or as of the as_of parameter, with the day that decides what is
// overdue in it.
func (h *handler) lookup(ctx context.Context, kind domain.Kind, code, key string, asOf *string) (domain.Entry, string, error) {
	at, err := param.AsOf(asOf, h.inventory.Now())
	if err != nil {
		return domain.Entry{}, "", err
	}
	e, err := h.reads(ctx, at).Lookup(ctx, readScope(ctx), kind, code, key, at)
	return e, h.inventory.TodayAt(at), err
}

func (h *handler) put(ctx context.Context, kind domain.Kind, code, key string, c domain.Content, ifMatch *string) (domain.Entry, bool, error) {
	pre, err := precondition(ifMatch)
	if err != nil {
		return domain.Entry{}, false, err
	}
	return h.inventory.Put(ctx, actor(ctx), writeScope(ctx), kind, code, key, c, pre)
}

func (h *handler) patch(ctx context.Context, kind domain.Kind, code, key string, patch map[string]any, ifMatch *string) (domain.Entry, error) {
	pre, err := precondition(ifMatch)
	if err != nil {
		return domain.Entry{}, err
	}
	return h.inventory.Patch(ctx, actor(ctx), writeScope(ctx), kind, code, key, patch, pre)
}

func (h *handler) delete(ctx context.Context, kind domain.Kind, code, key string, ifMatch *string) error {
	pre, err := precondition(ifMatch)
	if err != nil {
		return err
	}
	return h.inventory.Delete(ctx, actor(ctx), writeScope(ctx), kind, code, key, pre)
}

// reads is the inventory for a read now (at nil), which is the primary's, or as of an
// instant, which a replica may answer for the caller.
func (h *handler) reads(ctx context.Context, at *time.Time) *store.Inventory {
	if at == nil {
		return h.inventory
	}
	return h.inventory.For(actor(ctx))
}

// list reads one page of entries of a kind: of one Ressort, or ("") across the Ressorts the
// caller may read. The parameters of all four listings have one shape; a Ressort's listing
// has no ressort filter.
func (h *handler) list(ctx context.Context, kind domain.Kind, ressort string, p oapi.ListRegistersParams) (domain.Page, string, error) {
	at, err := param.AsOf(p.AsOf, h.inventory.Now())
	if err != nil {
		return domain.Page{}, "", err
	}
	page, err := h.reads(ctx, at).List(ctx, readScope(ctx), domain.Filter{AsOf: at, Kind: kind, Ressort: ressort,
		Ressorts: deref(p.Ressort), Stages: stages(p.StageIdnr, p.StageNoots, p.StageDsc),
		Overdue: p.Overdue, Q: deref(p.Q), Limit: deref(p.Limit), Cursor: deref(p.Cursor)})
	return page, h.inventory.TodayAt(at), err
}

// ressortList gives a Ressort's listing parameters the shape of the cross listing's.
func ressortList(p oapi.ListRessortRegistersParams) oapi.ListRegistersParams {
	return oapi.ListRegistersParams{StageIdnr: p.StageIdnr, StageNoots: p.StageNoots, StageDsc: p.StageDsc,
		Overdue: p.Overdue, Q: p.Q, Limit: p.Limit, Cursor: p.Cursor, AsOf: p.AsOf}
}

func registerList(page domain.Page, today string) oapi.RegisterList {
	items := make([]oapi.Register, len(page.Entries))
	for i, e := range page.Entries {
		items[i] = toRegister(e, today)
	}
	return oapi.RegisterList{Items: items, NextCursor: nextCursor(page.Next)}
}

func onlinedienstList(page domain.Page, today string) oapi.OnlinedienstList {
	items := make([]oapi.Onlinedienst, len(page.Entries))
	for i, e := range page.Entries {
		items[i] = toOnlinedienst(e, today)
	}
	return oapi.OnlinedienstList{Items: items, NextCursor: nextCursor(page.Next)}
}
