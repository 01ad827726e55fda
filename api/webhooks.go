package api

import (
	"context"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/notify"
	"github.com/bremen/regmo/domain/store"
)

// Webhooks are registered by admins; the caller becomes the owner, whose read permissions at
// delivery time decide what the webhook receives.
func (h *handler) CreateWebhook(ctx context.Context, req oapi.CreateWebhookRequestObject) (oapi.CreateWebhookResponseObject, error) {
	events := make([]string, len(req.Body.Events))
	for i, e := range req.Body.Events {
		events[i] = string(e)
	}
	var ressorts []string
	if req.Body.Ressorts != nil {
		ressorts = *req.Body.Ressorts
	}
	w, secret, err := h.webhooks.Create(ctx, actor(ctx), req.Body.Url, events, ressorts)
	if err != nil {
		return nil, err
	}
	out := webhookToAPI(w)
	return oapi.CreateWebhook201JSONResponse{Id: out.Id, Url: out.Url, Events: out.Events, Ressorts: out.Ressorts,
		Owner: out.Owner, CreatedAt: out.CreatedAt, Secret: secret}, nil
}

func (h *handler) ListWebhooks(ctx context.Context, _ oapi.ListWebhooksRequestObject) (oapi.ListWebhooksResponseObject, error) {
	ws, err := h.webhooks.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make(oapi.ListWebhooks200JSONResponse, len(ws))
	for i, w := range ws {
		out[i] = webhookToAPI(w)
	}
	return out, nil
}

func (h *handler) GetWebhook(ctx context.Context, req oapi.GetWebhookRequestObject) (oapi.GetWebhookResponseObject, error) {
	w, err := h.webhooks.Get(ctx, req.Id)
	if err != nil {
		return nil, err
	}
	return oapi.GetWebhook200JSONResponse(webhookToAPI(w)), nil
}

func (h *handler) DeleteWebhook(ctx context.Context, req oapi.DeleteWebhookRequestObject) (oapi.DeleteWebhookResponseObject, error) {
	if err := h.webhooks.Delete(ctx, req.Id); err != nil {
		return nil, err
	}
	return oapi.DeleteWebhook204Response{}, nil
}

func (h *handler) ListWebhookDeliveries(ctx context.Context, req oapi.ListWebhookDeliveriesRequestObject) (oapi.ListWebhookDeliveriesResponseObject, error) {
	limit := domain.DefaultLimit
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	if limit < 1 || limit > domain.MaxLimit {
		return nil, store.ErrLimit
	}
	var before int64
	if req.Params.Before != nil {
		before = *req.Params.Before
	}
	ds, err := h.webhooks.Deliveries(ctx, req.Id, limit, before)
	if err != nil {
		return nil, err
	}
	out := make(oapi.ListWebhookDeliveries200JSONResponse, len(ds))
	for i, d := range ds {
		attempts := make([]oapi.WebhookAttempt, len(d.Attempts))
		for k, a := range d.Attempts {
			attempts[k] = oapi.WebhookAttempt{Attempt: a.N, At: a.At, Error: a.Error, DurationMs: int(a.Duration.Milliseconds())}
			if a.Status != 0 {
				attempts[k].Status = &a.Status
			}
		}
		out[i] = oapi.WebhookDelivery{Id: d.ID, EventId: d.EventID, EventType: oapi.WebhookEventType(d.EventType),
			State: oapi.WebhookDeliveryState(d.State), CreatedAt: d.CreatedAt, NextAttemptAt: d.NextAt, DoneAt: d.DoneAt,
			LastError: d.LastError, Attempts: attempts}
	}
	return out, nil
}

func webhookToAPI(w notify.Webhook) oapi.Webhook {
	events := make([]oapi.WebhookEventType, len(w.Events))
	for i, e := range w.Events {
		events[i] = oapi.WebhookEventType(e)
	}
	return oapi.Webhook{Id: w.ID, Url: w.URL, Events: events, Ressorts: w.Ressorts, Owner: w.Owner, CreatedAt: w.CreatedAt}
}
