package api

import (
	"context"
	"fmt"
	"time"

	"github.com/bremen/regmo/api/oapi"
	"github.com/bremen/regmo/domain"
	"github.com/bremen/regmo/domain/access"
)

func toUser(u domain.User) oapi.User {
	bindings := make([]oapi.Binding, len(u.Bindings))
	for i, b := range u.Bindings {
		bindings[i] = oapi.Binding{Role: oapi.BindingRole(b.Role)}
		if b.Ressort != "" {
			r := b.Ressort
			bindings[i].Ressort = &r
		}
	}
	return oapi.User{Name: u.Name, DisplayName: u.DisplayName, Email: u.Email, Active: u.Active, Bindings: bindings}
}

func toToken(t domain.Token) oapi.Token {
	return oapi.Token{Id: t.ID, Label: t.Label, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
		LastUsedAt: utcPtr(t.LastUsedAt), RevokedAt: utcPtr(t.RevokedAt)}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (h *handler) GetMe(ctx context.Context, _ oapi.GetMeRequestObject) (oapi.GetMeResponseObject, error) {
	caller, _ := callerFrom(ctx)
	u, err := h.access.User(ctx, caller.User)
	if err != nil {
		return nil, err
	}
	return oapi.GetMe200JSONResponse(toUser(u)), nil
}

func (h *handler) ListUsers(ctx context.Context, _ oapi.ListUsersRequestObject) (oapi.ListUsersResponseObject, error) {
	users, err := h.access.Users(ctx)
	if err != nil {
		return nil, err
	}
	out := make(oapi.ListUsers200JSONResponse, len(users))
	for i, u := range users {
		out[i] = toUser(u)
	}
	return out, nil
}

func (h *handler) PutUser(ctx context.Context, req oapi.PutUserRequestObject) (oapi.PutUserResponseObject, error) {
	in := req.Body
	u := domain.User{Name: req.Name, DisplayName: deref(in.DisplayName), Email: deref(in.Email), Active: true}
	if in.Active != nil {
		u.Active = *in.Active
	}
	for i, b := range deref(in.Bindings) {
		// The domain reads an empty Ressort as none, which for a global role means every
		// Ressort: an empty string sent is refused rather than taken as left out.
		if b.Ressort != nil && *b.Ressort == "" {
			return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: fmt.Sprintf("bindings[%d].ressort", i),
				Message: "must be a Ressort code or left out (global roles have none); an empty string is neither"}}}
		}
		u.Bindings = append(u.Bindings, domain.Binding{Role: string(b.Role), Ressort: deref(b.Ressort)})
	}
	out, created, err := h.access.PutUser(ctx, actor(ctx), writeScope(ctx), u)
	if err != nil {
		return nil, err
	}
	if created {
		return oapi.PutUser201JSONResponse(toUser(out)), nil
	}
	return oapi.PutUser200JSONResponse(toUser(out)), nil
}

func (h *handler) ListTokens(ctx context.Context, req oapi.ListTokensRequestObject) (oapi.ListTokensResponseObject, error) {
	tokens, err := h.access.Tokens(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	out := make(oapi.ListTokens200JSONResponse, len(tokens))
	for i, t := range tokens {
		out[i] = toToken(t)
	}
	return out, nil
}

func (h *handler) IssueToken(ctx context.Context, req oapi.IssueTokenRequestObject) (oapi.IssueTokenResponseObject, error) {
	ttl, err := access.ParseTTL(deref(req.Body.Ttl))
	if err != nil {
		return nil, err
	}
	secret, t, err := h.access.IssueToken(ctx, actor(ctx), writeScope(ctx), req.Name, deref(req.Body.Label), ttl)
	if err != nil {
		return nil, err
	}
	return oapi.IssueToken201JSONResponse{Id: t.ID, Token: secret, Label: t.Label, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}, nil
}

func (h *handler) RevokeToken(ctx context.Context, req oapi.RevokeTokenRequestObject) (oapi.RevokeTokenResponseObject, error) {
	if err := h.access.RevokeToken(ctx, actor(ctx), writeScope(ctx), req.Name, req.Id); err != nil {
		return nil, err
	}
	return oapi.RevokeToken204Response{}, nil
}
