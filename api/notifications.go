package api

import (
	"context"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain/notify"
)

// The caller's own e-mail choices: the store is always asked for the caller's name, never a
// name from the request, so nobody reads or changes another user's.
func (h *handler) GetMyNotifications(ctx context.Context, _ oapi.GetMyNotificationsRequestObject) (oapi.GetMyNotificationsResponseObject, error) {
	s, err := h.notificationSettings(ctx)
	if err != nil {
		return nil, err
	}
	return oapi.GetMyNotifications200JSONResponse(s), nil
}

func (h *handler) PutMyNotifications(ctx context.Context, req oapi.PutMyNotificationsRequestObject) (oapi.PutMyNotificationsResponseObject, error) {
	caller, _ := callerFrom(ctx)
	if err := h.prefs.Put(ctx, caller.User, notify.Prefs{Reminder: req.Body.Reminder, Digest: req.Body.Digest}); err != nil {
		return nil, err
	}
	s, err := h.notificationSettings(ctx)
	if err != nil {
		return nil, err
	}
	return oapi.PutMyNotifications200JSONResponse(s), nil
}

func (h *handler) notificationSettings(ctx context.Context) (oapi.NotificationSettings, error) {
	caller, _ := callerFrom(ctx)
	u, err := h.access.User(ctx, caller.User)
	if err != nil {
		return oapi.NotificationSettings{}, err
	}
	p, err := h.prefs.Get(ctx, caller.User)
	if err != nil {
		return oapi.NotificationSettings{}, err
	}
	return oapi.NotificationSettings{Reminder: p.Reminder, Digest: p.Digest, Email: u.Email}, nil
}
