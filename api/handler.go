package api

import (
	"bytes"
	"context"
	"net/http"

	"gorm.io/gorm"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain/access"
	"github.com/bremen/regmo/domain/notify"
	"github.com/bremen/regmo/domain/report"
	"github.com/bremen/regmo/domain/store"
	"github.com/bremen/regmo/domain/transfer"
)

// handler implements the operations of openapi.yaml (oapi.StrictServerInterface).
type handler struct {
	access    *access.Service
	inventory *store.Inventory
	transfer  *transfer.Service
	reports   *report.Service
	ressorts  *store.Ressorts
	webhooks  *notify.WebhookStore
	prefs     *notify.PrefsStore
	db        *gorm.DB
}

var _ oapi.StrictServerInterface = (*handler)(nil)

func (h *handler) GetHealth(ctx context.Context, _ oapi.GetHealthRequestObject) (oapi.GetHealthResponseObject, error) {
	return oapi.GetHealth200JSONResponse{Status: oapi.Ok}, nil
}

func (h *handler) GetReady(ctx context.Context, _ oapi.GetReadyRequestObject) (oapi.GetReadyResponseObject, error) {
	if err := ping(ctx, h.db); err != nil {
		return nil, newProblem(http.StatusServiceUnavailable, "unavailable", "Service unavailable",
			"The database cannot be reached at the moment.")
	}
	return oapi.GetReady200JSONResponse{Status: oapi.Ok}, nil
}

func (h *handler) GetOpenAPI(ctx context.Context, _ oapi.GetOpenAPIRequestObject) (oapi.GetOpenAPIResponseObject, error) {
	return oapi.GetOpenAPI200ApplicationyamlResponse{Body: bytes.NewReader(oapi.Spec), ContentLength: int64(len(oapi.Spec))}, nil
}

func (h *handler) ListIdnrgAnlage(ctx context.Context, _ oapi.ListIdnrgAnlageRequestObject) (oapi.ListIdnrgAnlageResponseObject, error) {
	entries, err := store.Anlage(ctx, h.db)
	if err != nil {
		return nil, err
	}
	out := make(oapi.ListIdnrgAnlage200JSONResponse, len(entries))
	for i, e := range entries {
		out[i] = oapi.AnlageEntry{Nr: e.Nr, Name: e.Name, LegalBasis: e.LegalBasis, Level: e.Level}
	}
	return out, nil
}

func (h *handler) ListRessorts(ctx context.Context, _ oapi.ListRessortsRequestObject) (oapi.ListRessortsResponseObject, error) {
	rs, err := h.ressorts.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make(oapi.ListRessorts200JSONResponse, len(rs))
	for i, r := range rs {
		out[i] = oapi.Ressort{Code: r.Code, Name: r.Name}
	}
	return out, nil
}

func (h *handler) PutRessort(ctx context.Context, req oapi.PutRessortRequestObject) (oapi.PutRessortResponseObject, error) {
	r, created, err := h.ressorts.Put(ctx, actor(ctx), writeScope(ctx), req.Code, req.Body.Name)
	if err != nil {
		return nil, err
	}
	if created {
		return oapi.PutRessort201JSONResponse{Code: r.Code, Name: r.Name}, nil
	}
	return oapi.PutRessort200JSONResponse{Code: r.Code, Name: r.Name}, nil
}
