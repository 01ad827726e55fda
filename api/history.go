package api

import (
	"context"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/store"
)

func toEventList(page store.EventPage) oapi.EventList {
	items := make([]oapi.Event, len(page.Events))
	for i, e := range page.Events {
		changes := make(map[string]oapi.Change, len(e.Changes))
		for k, c := range e.Changes {
			changes[k] = oapi.Change{From: c.From, To: c.To} // nil values are left out
		}
		items[i] = oapi.Event{Id: e.ID, At: e.At, Actor: e.Actor, Action: oapi.EventAction(e.Action), Changes: changes}
		items[i].Entity.Type = oapi.EventEntityType(e.EntityType)
		items[i].Entity.Key = e.Key
		if e.Ressort != "" {
			r := e.Ressort
			items[i].Entity.Ressort = &r
		}
	}
	return oapi.EventList{Items: items, NextCursor: nextCursor(page.Next)}
}

func (h *handler) GetRegisterHistory(ctx context.Context, req oapi.GetRegisterHistoryRequestObject) (oapi.GetRegisterHistoryResponseObject, error) {
	page, err := h.inventory.For(actor(ctx)).History(ctx, readScope(ctx), domain.KindRegister, req.Code, req.Key, deref(req.Params.Limit), deref(req.Params.Cursor))
	if err != nil {
		return nil, err
	}
	return oapi.GetRegisterHistory200JSONResponse(toEventList(page)), nil
}

func (h *handler) GetOnlinedienstHistory(ctx context.Context, req oapi.GetOnlinedienstHistoryRequestObject) (oapi.GetOnlinedienstHistoryResponseObject, error) {
	page, err := h.inventory.For(actor(ctx)).History(ctx, readScope(ctx), domain.KindOnlinedienst, req.Code, req.Key, deref(req.Params.Limit), deref(req.Params.Cursor))
	if err != nil {
		return nil, err
	}
	return oapi.GetOnlinedienstHistory200JSONResponse(toEventList(page)), nil
}

func (h *handler) ListAudit(ctx context.Context, req oapi.ListAuditRequestObject) (oapi.ListAuditResponseObject, error) {
	p := req.Params
	page, err := h.inventory.For(actor(ctx)).Audit(ctx, readScope(ctx), store.EventFilter{
		Since: p.Since, Until: p.Until, Actor: deref(p.Actor), Ressorts: deref(p.Ressort),
		Type: string(deref(p.Type)), Action: string(deref(p.Action)), Limit: deref(p.Limit), Cursor: deref(p.Cursor),
	})
	if err != nil {
		return nil, err
	}
	return oapi.ListAudit200JSONResponse(toEventList(page)), nil
}
